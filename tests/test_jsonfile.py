"""offlineprep.jsonfile: one way to read back a JSON document of ours, every fault a usage error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from offlineprep.errors import UsageError
from offlineprep.jsonfile import load_document, read_document


class Doc(BaseModel):
    count: int


def load(path: Path) -> Doc:
    return load_document(path, Doc, what="widget", schema="offlineprep/widget/v2", older=["offlineprep/widget/v1"],
                         how_to_make="offlineprep widget")


@pytest.mark.parametrize(("content", "said"), [
    (b"\xb0\x01", r"not UTF-8 text \(byte 0\): not an offlineprep widget"),
    (b"{", r"not JSON \(.*\): not an offlineprep widget"),
    (b"[]", r"not an offlineprep widget \(a JSON object with \"schema\": \"offlineprep/widget/v2\" expected; "
            r"write one with `offlineprep widget`\)"),
    (b'{"schema": "offlineprep/plan/v1"}', r"w.json: this is a plan \(offlineprep/plan/v1\), not an offlineprep widget: "
                                           r"give the file `offlineprep widget` wrote"),
    (b'{"schema": "offlineprep/widget/v9"}', r"widget schema 'offlineprep/widget/v9' is not supported: this "
                                            r"offlineprep \S+ reads offlineprep/widget/v2"),
    (b'{"schema": "offlineprep/widget/v2", "count": "many"}', r"not a valid offlineprep widget at count: "),
])
def test_every_fault_is_a_usage_error_naming_the_file(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "w.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=said) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the widget"):
        load(tmp_path / "none.json")


def test_the_current_and_older_schemas_read_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    for schema in ("offlineprep/widget/v2", "offlineprep/widget/v1"):
        path.write_bytes(b"\xef\xbb\xbf" + f'{{"schema": "{schema}", "count": 3}}'.encode())
        assert load(path).count == 3
        assert read_document(path, what="widget", schema=schema, how_to_make="x")["count"] == 3
