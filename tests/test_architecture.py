"""The import rules of docs/architecture.md, enforced: its module table says what each module may
import, and its rules say who may import typer, rich, ldap3 and winrm. A new module must be
documented in the table before it can pass; an import the table does not allow fails with the
module, the import and its line. No module reaches into another package for its private names."""

from __future__ import annotations

import ast
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
THIRD_PARTY_RULES = {  # the rules under the table: who may import these
    "typer": ["offlineprep/cli.py"],
    "rich": ["offlineprep/cli.py", "offlineprep/terminal.py"],
    "ldap3": ["offlineprep/collect/directory.py", "offlineprep/apply/directory.py", "offlineprep/lab/*"],
    "winrm": ["offlineprep/winrm/*", "offlineprep/lab/*"],  # pywinrm (offlineprep.winrm is ours: "offlineprep.winrm")
}


@dataclass
class Row:
    patterns: list[str]  # file globs, relative to the repository
    allowed: set[str]  # offlineprep module names (dotted, without the offlineprep. prefix)
    anything: bool = False


def _rows() -> list[Row]:
    rows: list[Row] = []
    above: set[str] = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        module_cell, allowed_cell = cells[0], cells[-1]
        patterns = []
        for path in re.findall(r"`([^`]+)`", module_cell):
            if path.endswith(".ps1") or not (path.startswith("offlineprep/") or path.startswith("checks/")):
                continue
            patterns.append(path + "*" if path.endswith("/") else path)
        if not patterns:
            continue  # templates/: no Python
        words = {w.strip() for w in re.sub(r"\([^)]*\)", "", allowed_cell).split(",")}
        anything = "everything" in words
        allowed = set(above) if "all of the above" in words else set()
        allowed |= {w for w in words if re.fullmatch(r"[a-z_][a-z0-9_.]*", w) and w not in {"stdlib", "pydantic"}}
        rows.append(Row(patterns, allowed, anything))
        above |= {_module_name(p.rstrip("*")) for p in patterns}
    return rows


def _module_name(path: str) -> str:
    """`offlineprep/collect/hosts.py` -> `collect.hosts`; `offlineprep/lab/` -> `lab`."""
    text = path.removeprefix("offlineprep/").removesuffix(".py").rstrip("/")
    return text.replace("/", ".")


def _row_of(rel: str, rows: list[Row]) -> Row | None:
    matches = [(len(p), r) for r in rows for p in r.patterns if fnmatch.fnmatchcase(rel, p)]
    return max(matches, key=lambda m: m[0])[1] if matches else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import: offlineprep's as `offlineprep.x.y`, others by top-level name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                out.append((node.lineno, ".".join([*base, *(node.module or "").split(".")]).strip(".")))
            elif node.module == "offlineprep":
                out += [(node.lineno, f"offlineprep.{alias.name}") for alias in node.names]
            elif node.module:
                out.append((node.lineno, node.module))
    return out


def _empty_package(rel: str) -> bool:
    """A package's __init__.py that imports nothing of offlineprep needs no row of its own."""
    return rel.endswith("__init__.py") and not any(m.startswith("offlineprep") for _, m in _imports(ROOT / rel))


def _python_files() -> list[str]:
    files = [*ROOT.glob("offlineprep/**/*.py"), *ROOT.glob("checks/*.py")]
    return sorted(p.relative_to(ROOT).as_posix() for p in files)


def test_every_module_is_in_the_architecture_table() -> None:
    rows = _rows()
    missing = [rel for rel in _python_files() if _row_of(rel, rows) is None and not _empty_package(rel)]
    assert not missing, f"add these to the table of docs/architecture.md: {missing}"


def test_every_module_imports_only_what_its_row_allows() -> None:
    rows = _rows()
    wrong = []
    for rel in _python_files():
        row = _row_of(rel, rows)
        if row is None or row.anything:
            continue
        own = _module_name(rel)
        own_package = own.rsplit(".", 1)[0] if "." in own else own
        for line, module in _imports(ROOT / rel):
            if not module.startswith("offlineprep"):
                continue
            name = module.removeprefix("offlineprep").lstrip(".")
            if name in {"", "__version__", own, own_package} or name.startswith(own_package + "."):
                continue
            if not any(name == a or name.startswith(a + ".") for a in row.allowed):
                wrong.append(f"{rel}:{line} imports offlineprep.{name}; its row allows {sorted(row.allowed) or 'stdlib'}")
    assert not wrong, "\n".join(wrong)


def test_only_the_named_modules_import_typer_rich_ldap3_and_winrm() -> None:
    wrong = []
    for rel in _python_files():
        for line, module in _imports(ROOT / rel):
            top = module.split(".")[0]
            if top in THIRD_PARTY_RULES and not any(fnmatch.fnmatchcase(rel, p) for p in THIRD_PARTY_RULES[top]):
                wrong.append(f"{rel}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_the_table_is_read_as_written() -> None:
    """The parser itself: rows found, a row's words read, the most specific row wins."""
    rows = _rows()
    names = _row_of("offlineprep/names.py", rows)
    assert names is not None and names.allowed == set()
    hosts = _row_of("offlineprep/collect/hosts.py", rows)
    assert hosts is not None and {"collect", "facts", "site", "winrm"} <= hosts.allowed
    delivery = _row_of("offlineprep/winrm/delivery.py", rows)
    assert delivery is not None and "localcheck" in delivery.allowed and "collect" not in delivery.allowed
    pipeline = _row_of("offlineprep/pipeline.py", rows)
    assert pipeline is not None and {"collect.directory", "engine", "inventory", "waivers"} <= pipeline.allowed
    source = _row_of("offlineprep/collect/sources/vmm.py", rows)
    assert source is not None and "inventory" in source.allowed and "pipeline" not in source.allowed
    cli = _row_of("offlineprep/cli.py", rows)
    assert cli is not None and cli.anything


def _package_of(rel: str) -> str:
    """Whose private names a module may use: its own top-level package's (`offlineprep/collect/sources/vmm.py`
    -> `offlineprep.collect`); a module directly under offlineprep/ or checks/ is a package of its own."""
    parts = Path(rel).with_suffix("").parts
    if parts[0] == "offlineprep" and len(parts) > 2:
        return ".".join(parts[:2])
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _private_uses(rel: str, text: str | None = None) -> list[tuple[int, str]]:
    """(line, `module._name`) for each private name of offlineprep taken from the module: imported by
    name (`from offlineprep.x import _y`) or read off an imported module (`import offlineprep.x as m`,
    `from offlineprep import x as m`; then `m._y`)."""
    tree = ast.parse(text if text is not None else (ROOT / rel).read_text(encoding="utf-8"))
    package = ".".join(Path(rel).parts[:-1])
    modules: dict[str, str] = {}  # local name -> the offlineprep module it is bound to
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            else:
                source = node.module or ""
            if not source.startswith("offlineprep"):
                continue
            for alias in node.names:
                if _is_module(f"{source}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append((node.lineno, f"{source}.{alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("offlineprep") and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append((node.lineno, f"{modules[node.value.id]}.{node.attr}"))
    return found


def test_no_module_imports_another_packages_private_names() -> None:
    """`from offlineprep.collect.hosts import _Progress` in apply/ is how a package's insides became
    another's interface (issue 23): a private name is used only within its own package."""
    wrong = []
    for rel in _python_files():
        own = _package_of(rel)
        for line, used in _private_uses(rel):
            owner = used.rsplit(".", 1)[0]
            if not (owner == own or owner.startswith(own + ".")):
                wrong.append(f"{rel}:{line} uses {used}")
    assert not wrong, "\n".join(wrong)


def test_the_private_name_rule_sees_both_ways_in() -> None:
    text = ("from offlineprep.winrm.delivery import _hidden\nfrom offlineprep.winrm import delivery as d\n"
            "d._Progress()\nfrom . import hosts\nhosts._INHERITANCE_FLAGS\n")
    assert sorted(_private_uses("offlineprep/apply/example.py", text)) == [
        (1, "offlineprep.winrm.delivery._hidden"), (3, "offlineprep.winrm.delivery._Progress"),
        (5, "offlineprep.apply.hosts._INHERITANCE_FLAGS")]
    assert _package_of("offlineprep/apply/example.py") == "offlineprep.apply"  # the last one is its own
