"""The collection script's answer, `offlineprep/host/v1`: what collect.ps1 prints, as typed parts.

`HostAnswer` is made of the sections' answer models (offlineprep.collect.sections, one module per
section of the script). The JSON Schema in docs/host.schema.json is generated from it (a test keeps it current);
the collector validates every answer against these models, and the tests validate every answer the
simulator gives. Validation goes part by part: a part of the wrong shape (one firewall rule, one VM,
one path) is left out and named in `problems`, the rest of the host's answer is kept.

Values are as the script writes them: enumerations as their names ([string]$x in the script; the
numbers ConvertTo-Json of Windows PowerShell 5.1 would write are refused), booleans as JSON booleans,
sizes as JSON numbers. A list that ConvertTo-Json wrote as its single element is read as a list.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, create_model

from offlineprep.collect.sections import SECTIONS
from offlineprep.collect.sections.base import Part

HOST_SCHEMA: Literal["offlineprep/host/v1"] = "offlineprep/host/v1"


class AnswerBase(Part):
    """One host's answer. Every part is optional: a section that failed on the host is absent and
    its error text is in `errors` under the section's name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              json_schema_extra={"title": "offlineprep/host/v1"})

    schema_id: Literal["offlineprep/host/v1"] = Field(alias="schema")
    errors: dict[str, str] = Field(default_factory=dict)


def _section_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for section in SECTIONS:
        for key, annotation in section.answer.items():
            if key in fields:
                raise ValueError(f"two sections write the answer key {key!r}")
            fields[key] = (annotation, None)
    return fields


# the parts are the sections' (offlineprep.collect.sections), in the script's order
HostAnswer: type[AnswerBase] = create_model("HostAnswer", __base__=AnswerBase, __doc__=AnswerBase.__doc__,
                                         **_section_fields())


def json_schema() -> dict[str, Any]:
    return HostAnswer.model_json_schema(by_alias=True)


def validate_strictly(document: Any) -> AnswerBase:
    """For tests: the whole answer exactly as the schema says, no tolerance, no coercion."""
    return HostAnswer.model_validate(document, strict=True, context={"strict_shape": True})


def _problem(where: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    return f"{where}{'.' + loc if loc else ''}: {first['msg']}"


def _item_type(annotation: Any) -> Any:
    """The item model of a `list[X] | None` field, None for a field that is not a list."""
    for arg in (annotation, *get_args(annotation)):
        inner = get_args(arg)[0] if get_origin(arg) is Annotated else arg
        if get_origin(inner) is list:
            return get_args(inner)[0]
    return None


def read_answer(document: dict[str, Any]) -> tuple[AnswerBase, dict[str, str], dict[str, list[Any]]]:
    """The answer, part by part. Returns the valid parts, the problems by section (one text per
    section, naming the first wrong item) and, by section, the raw items that were left out (so the
    collector can still name the path or VM they were about)."""
    problems: dict[str, list[str]] = {}
    rejected: dict[str, list[Any]] = {}
    kept: dict[str, Any] = {"schema": document.get("schema")}
    errors = document.get("errors")
    if isinstance(errors, dict):
        kept["errors"] = {str(k): str(v) for k, v in errors.items() if v is not None}
    elif errors is not None:
        problems.setdefault("errors", []).append("errors: not an object")
    for name, field in HostAnswer.model_fields.items():
        if name in {"schema_id", "errors"} or name not in document:
            continue
        value = document[name]
        if value is None:
            continue
        item = _item_type(field.annotation)
        if item is None:
            try:
                kept[name] = TypeAdapter(field.annotation or Any).validate_python(value)
            except ValidationError as exc:
                problems.setdefault(name, []).append(_problem(name, exc))
            continue
        adapter = TypeAdapter(item)
        values: list[Any] = []
        for index, raw in enumerate(value if isinstance(value, list) else [value]):
            try:
                values.append(adapter.validate_python(raw))
            except ValidationError as exc:
                problems.setdefault(name, []).append(_problem(f"{name}[{index}]", exc))
                rejected.setdefault(name, []).append(raw)
        kept[name] = values
    answer = HostAnswer.model_validate(kept)
    summary = {k: f"{len(v)} part(s) of the wrong shape, first {v[0]}" if len(v) > 1 else f"wrong shape: {v[0]}"
               for k, v in problems.items()}
    return answer, summary, rejected
