"""Reading back a JSON document offlineprep wrote (facts, a plan, a record, results).

Such a file comes from another machine, maybe another version, maybe edited by hand: every way it
can be wrong is a usage error that names the file and says what was expected, never an internal
error. One shape for every kind of document: read (a BOM from a PowerShell 5 round trip is fine),
parse, check the "schema" it declares, validate against the model; the first thing wrong is the one
reported.

Hostile input is one of those ways: 200,000 nested brackets make Python's json parser (and
pydantic after it) exceed the interpreter's recursion limit, which is a usage error naming the file
like any other, and a file larger than any document of ours (`MAX_DOCUMENT_BYTES`) is refused before
it is read. `private=True` (plans and records, which apply and revert act on) first refuses a file
another user owns or may write (offlineprep.privatefile).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from offlineprep import __version__
from offlineprep.errors import UsageError
from offlineprep.privatefile import check_private

# the largest document read: facts of some thousands of hosts are tens of MB; more is no file of ours
MAX_DOCUMENT_BYTES = 512 * 2**20

Document = TypeVar("Document", bound=BaseModel)

# the documents offlineprep writes, by the family of their "schema": one given in place of another is
# named as what it is (a results file given to --facts), not called an unsupported version
KINDS = {"offlineprep/results/": "results file", "offlineprep/facts/": "facts file", "offlineprep/plan/": "plan",
         "offlineprep/record/": "record"}


def read_document(path: Path, *, what: str, schema: str, how_to_make: str, older: Sequence[str] = (),
                  private: bool = False) -> dict[str, Any]:
    """The JSON object in `path`, once its "schema" is `schema` (the one written today) or one of the
    `older` ones still read.

    `what` names the kind of document in the messages ("facts file", "plan"); `how_to_make` is the
    command that writes a good one. A schema of the same family that this version does not read (a
    newer one) says so; anything else is "not an offlineprep <what>"."""
    if private:
        check_private(path, what)
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise UsageError(f"{path}: larger than {MAX_DOCUMENT_BYTES // 2**20} MB: not an offlineprep {what}")
        text = path.read_text(encoding="utf-8-sig")  # a BOM from a PowerShell 5 round trip is fine
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}): not an offlineprep {what}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc}): not an offlineprep {what}") from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be read (hostile JSON?): not an offlineprep {what}") from None
    found = data.get("schema") if isinstance(data, dict) else None
    if isinstance(data, dict) and (found == schema or found in older):
        return data
    family = schema.rsplit("/", 1)[0] + "/"
    kind = next((k for prefix, k in KINDS.items() if str(found).startswith(prefix)), None)
    if kind is not None and not str(found).startswith(family):
        raise UsageError(f"{path}: this is a {kind} ({found}), not an offlineprep {what}: give the file "
                         f"`{how_to_make}` wrote")
    if isinstance(found, str) and found.startswith(family):
        raise UsageError(f"{path}: {what} schema {found!r} is not supported: this offlineprep {__version__} reads "
                         f"{schema}; write it again with this version: `{how_to_make}`")
    raise UsageError(f"{path}: not an offlineprep {what} (a JSON object with \"schema\": \"{schema}\" expected"
                     + (f", found {found!r}" if found else "") + f"; write one with `{how_to_make}`)")


def validated(model: type[Document], data: dict[str, Any], path: Path, what: str) -> Document:
    """`data` as `model`; the first thing wrong with it is a usage error naming the file and the field."""
    try:
        return model.model_validate(data)  # already parsed, by json: see offlineprep.jsontext
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{path}: not a valid offlineprep {what} at {where}: {first['msg']}") from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be read (hostile JSON?): not a valid offlineprep {what}") \
            from None


def load_document(path: Path, model: type[Document], *, what: str, schema: str, how_to_make: str,
                  older: Sequence[str] = (), private: bool = False) -> Document:
    """`read_document`, then `validated`: the whole file as `model`."""
    data = read_document(path, what=what, schema=schema, how_to_make=how_to_make, older=older, private=private)
    return validated(model, data, path, what)
