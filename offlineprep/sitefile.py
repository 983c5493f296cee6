"""Load a site file (TOML) into `Site`, with errors that name the file, the line and the key.

tomllib gives no positions, so `KeyLocator` finds the line of a key path in the text itself:
table headers (`[source]`), dotted keys, and keys inside a table. That is enough for the flat
shape of a site file, and every error still names the key when no line can be found.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from offlineprep.errors import SiteFileError
from offlineprep.site import SECRET_KEYS, Site, host_key
from offlineprep.suggest import did_you_mean

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(#.*)?$")
_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')\s*(?:\.\s*[A-Za-z0-9_\-\"']+\s*)*=")


class KeyLocator:
    """Maps a key path such as ("source", "export_path") to the 1-based line that defines it."""

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str | int, ...], int] = {}
        table: tuple[str, ...] = ()
        index: int | None = None  # in the n-th table of an array of tables ([[directory]] number n)
        arrays: dict[tuple[str, ...], int] = {}
        self._arrays: set[tuple[str | int, ...]] = set()
        for number, line in enumerate(text.splitlines(), start=1):
            array = _ARRAY_HEADER.match(line)
            header = array or _HEADER.match(line)
            if header:
                table = tuple(_unquote(p) for p in header.group(1).split("."))
                self._lines.setdefault(table, number)
                index = None
                if array:  # its keys are found as ("directory", n, key), and as ("directory", key) for the first
                    index = arrays.get(table, -1) + 1
                    arrays[table] = index
                    self._arrays.add(table)
                    self._lines.setdefault((*table, index), number)
                continue
            key = _KEY.match(line)
            if key:
                dotted = tuple(_unquote(p) for p in line.split("=", 1)[0].split("."))
                self._lines.setdefault(table + dotted, number)
                if index is not None:
                    self._lines.setdefault((*table, index, *dotted), number)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the longest known prefix of `path`. An index after an array of tables names
        its n-th table ([[directory]] number n); any other index (a list in a value, or the single
        [directory] the model reads as entry 0) is no table of its own and is skipped."""
        keys: list[str | int] = []
        for part in path:
            if isinstance(part, int) and tuple(keys) not in self._arrays:
                continue
            keys.append(part)
        wanted = tuple(keys)
        while wanted:
            if wanted in self._lines:
                return self._lines[wanted]
            wanted = wanted[:-1]
        return None


def _unquote(part: str) -> str:
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
        return part[1:-1]
    return part


def load_site(path: Path | str) -> Site:
    path = Path(path)
    try:
        # utf-8-sig: Notepad and PowerShell 5 (Out-File -Encoding utf8) write a byte order mark
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SiteFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteFileError(f"{path}: cannot read: {exc}") from None
    return _resolve_files(parse_site(text, str(path)), path.parent)


def _resolve_files(site: Site, folder: Path) -> Site:
    """Certificate files written relative to the site file mean next to it, not next to wherever a
    pipeline happens to run the tool from."""

    def resolved(section: Any, keys: tuple[str, ...]) -> Any:
        update = {k: str(folder / v) for k in keys if (v := getattr(section, k)) and not Path(v).is_absolute()}
        return section.model_copy(update=update) if update else section

    update: dict[str, Any] = {"directory": [resolved(d, ("ca_file",)) for d in site.directories]}
    if site.winrm is not None:
        update["winrm"] = resolved(site.winrm, ("ca_file", "cert_pem", "cert_key_pem"))
    return site.model_copy(update=update)


def parse_site(text: str, filename: str = "<site>") -> Site:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        where = f"{filename}:{line}" if line else filename
        raise SiteFileError(f"{where}: not valid TOML: {str(exc).split(' (at line')[0]}{_key_on(text, line)}") from None
    locator = KeyLocator(text)
    _refuse_secrets(data, (), locator, filename)
    try:
        site = Site.model_validate(data)
    except ValidationError as exc:
        raise SiteFileError(_describe(exc, locator, filename)) from None
    _refuse_hosts_on_both_sides(site, locator, filename)
    return site


def _key_on(text: str, line: int | None) -> str:
    """The key a TOML error points at (a duplicate key names only a line); never the value, which
    could be a password."""
    lines = text.splitlines()
    if not line or not 0 < line <= len(lines):
        return ""
    header = _HEADER.match(lines[line - 1])
    if header:
        return f" (table [{header.group(1).strip()}])"
    if _KEY.match(lines[line - 1]):
        return f" (key {lines[line - 1].split('=', 1)[0].strip()!r})"
    return ""


def _refuse_hosts_on_both_sides(site: Site, locator: KeyLocator, filename: str) -> None:
    source = {host_key(h) for h in site.source.hosts}  # listed hosts; VMM's are told by side
    for host in site.target.hosts:
        if host_key(host) in source:
            line = locator.line_of(("target", "hosts"))
            where = f"{filename}:{line}" if line else filename
            raise SiteFileError(f"{where}: [target] hosts: {host!r} is also listed in [source] hosts; "
                                "a host replicates either from the primary site or to the recovery site")


def _refuse_secrets(data: dict[str, Any], path: tuple[str, ...], locator: KeyLocator, filename: str) -> None:
    """A literal password in a file that ends up in git is the leak we refuse before anything else."""
    for key, value in data.items():
        if key.lower() in SECRET_KEYS:
            line = locator.line_of((*path, key))
            where = f"{filename}:{line}" if line else filename
            table = f"[{'.'.join(path)}] " if path else ""
            raise SiteFileError(
                f"{where}: {table}{key}: a literal password is not allowed in the site file; "
                "name an environment variable with password_env (or be prompted)"
            )
        tables = value if isinstance(value, list) else [value]
        for table in tables:  # [[directory]] is a list of tables: no hiding a password there either
            if isinstance(table, dict):
                _refuse_secrets(table, (*path, key), locator, filename)


def _line_from_message(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


def _describe(exc: ValidationError, locator: KeyLocator, filename: str) -> str:
    """One line per problem, the first problem first; the CLI prints them all."""
    messages = []
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        line = locator.line_of(loc)
        where = f"{filename}:{line}" if line else filename
        if error["type"] == "missing" and len(loc) == 1 and loc[0] in _TABLES:
            messages.append(f"{where}: [{loc[0]}]: required table is missing")
            continue
        if error["type"] == "missing_key":  # a key the model requires only in some shapes of the file
            context = error.get("ctx") or {}
            loc = [*loc, *([context["index"]] if "index" in context else []), context.get("key", "")]
            line = locator.line_of(loc)
            where = f"{filename}:{line}" if line else filename
            message = "required key is missing" if error["msg"] == "Field required" else str(error["msg"])
            messages.append(f"{where}: {_key_text(loc)}: {message}")
            continue
        reason = _reason(error)
        if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
            reason += did_you_mean(loc[-1], _keys_of(_model_at(loc[:-1])))
        messages.append(f"{where}: {_key_text(loc)}: {reason}")
    return "\n".join(messages)


def _key_text(loc: Sequence[Any]) -> str:
    tables = [str(p) for p in loc[:-1] if not isinstance(p, int)]
    last = loc[-1] if loc else ""
    prefix = f"[{'.'.join(tables)}] " if tables else ""
    if isinstance(last, int):
        name = f"{tables[-1] if tables else ''}[{last}]"
        prefix = f"[{'.'.join(tables[:-1])}] " if len(tables) > 1 else ""
        return f"{prefix}{name}".strip()
    return f"{prefix}{last}" if loc else "(top level)"


# required tables: [accounts] too, unless [vmm] tells the accounts (the model's own check says missing)
_TABLES = {name for name, f in Site.model_fields.items() if f.is_required()} | {"accounts"}


def _model_at(path: Sequence[Any]) -> type[BaseModel] | None:
    """The model of the table at `path` (("winrm",) -> WinRMConfig), to suggest its keys."""
    model: type[BaseModel] | None = Site
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        model = _model_in(field.annotation) if field is not None else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


def _keys_of(model: type[BaseModel] | None) -> list[str]:
    return list(model.model_fields) if model is not None else []
_TOML_TYPE = {"str": "a string", "int": "an integer", "float": "a float", "bool": "a boolean", "list": "an array",
              "dict": "a table", "date": "a date", "datetime": "a date-time", "time": "a time"}


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    if kind in {"string_type", "int_type", "int_parsing", "bool_type", "bool_parsing", "float_type", "list_type",
                "float_parsing", "dict_type", "model_type"}:
        value = error.get("input")
        # a table or an array is not echoed: it is long, and it is where a secret could sit
        shown = f": {value!r}" if not isinstance(value, (dict, list)) else ""
        message = f"{message} (got {_TOML_TYPE.get(type(value).__name__, type(value).__name__)}{shown})"
    return message
