"""PowerShell as a parser sees it: proof that what offlineprep emits is valid and keeps values as data.

There is no PowerShell interpreter on the test machines; PyPI's tree-sitter-powershell parses the
language well enough to find a broken script (an ERROR or MISSING node) and to tell a string
literal from code. One trap, measured: tree-sitter does not treat the
typographic quotes U+2018–U+201B as single quotes nor U+201C–U+201E as double quotes, and
PowerShell does. So before parsing they are mapped to `'` and `"`: otherwise a value that
PowerShell would end early would look like one string to the parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

import tree_sitter
import tree_sitter_powershell

_TYPOGRAPHIC = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                              "\u201c": '"', "\u201d": '"', "\u201e": '"'})
# nodes inside which a value is inert: a string literal (single- or double-quoted; our values only
# ever go into single-quoted ones, see assert_values_in_literals) or a comment
_INERT = {"string_literal", "comment"}


@cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def as_powershell_reads_it(script: str) -> str:
    return script.translate(_TYPOGRAPHIC)


@dataclass(frozen=True)
class Parsed:
    source: bytes
    root: tree_sitter.Node

    def nodes(self) -> Iterator[tree_sitter.Node]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def errors(self) -> list[str]:
        """Every ERROR or MISSING node, as 'line:column: text' for the assertion message."""
        out = []
        for node in self.nodes():
            if node.type == "ERROR" or node.is_missing:
                row, col = node.start_point
                text = self.source[node.start_byte:node.end_byte][:60].decode("utf-8", "replace")
                out.append(f"{row + 1}:{col + 1}: {'MISSING ' + node.type if node.is_missing else 'ERROR'} {text!r}")
        return out

    def inert_ranges(self) -> list[tuple[int, int]]:
        return [(n.start_byte, n.end_byte) for n in self.nodes() if n.type in _INERT]


def parse(script: str) -> Parsed:
    source = as_powershell_reads_it(script).encode("utf-8", "surrogatepass")
    return Parsed(source, _parser().parse(source).root_node)


def assert_valid(script: str, what: str = "script") -> Parsed:
    parsed = parse(script)
    problems = parsed.errors()
    assert not problems, f"{what} does not parse as PowerShell:\n" + "\n".join(problems[:20])
    return parsed


def assert_values_in_literals(script: str, values: Iterable[str], what: str = "script") -> None:
    """Each value, wherever it appears (in its single-quoted spelling: quotes doubled), lies wholly
    inside a string literal or a comment: never a word of code. A value that does not appear at
    all is fine (it may have been left out on purpose); one that appears as code is not."""
    parsed = assert_valid(script, what)
    inert = parsed.inert_ranges()
    for value in values:
        if not value:
            continue
        plain = as_powershell_reads_it(value)
        # as quoted (quotes doubled) and as spliced raw: neither may lie, even in part, outside a literal
        for spelled in {plain, plain.replace("'", "''")}:
            needle = spelled.encode("utf-8", "surrogatepass")
            start = parsed.source.find(needle)
            while start != -1:
                end = start + len(needle)
                assert any(a <= start and end <= b for a, b in inert), (
                    f"{what}: the value {value!r} appears outside any string literal at byte {start}: "
                    f"{parsed.source[max(0, start - 40):end + 40]!r}")
                start = parsed.source.find(needle, start + 1)
