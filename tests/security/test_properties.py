"""Property-based tests: parsers fed arbitrary input succeed or raise our own clear error, and
effective access keeps the invariants Windows guarantees."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offlineprep.acl import READ_CONTROL, WRITE_DAC, SddlError, effective_access, share_and_ntfs
from offlineprep.collect.hosts import parse_output
from offlineprep.errors import SiteFileError
from offlineprep.names import NameError_, parse_path, parse_spn
from offlineprep.sitefile import parse_site

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SIDS = ["S-1-1-0", "S-1-5-11", "S-1-5-32-544", "S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1002", "S-1-5-21-1-2-3-513"]
sddl_alphabet = st.sampled_from([*list("OGDSPAI:();0x1fFWDRAUBASY-S12345"), "(A;;FA;;;WD)", "(D;OICI;", ";;;BA)"])


@FAST
@given(st.text())
def test_sddl_parser_never_crashes_on_text(text: str) -> None:
    with contextlib.suppress(SddlError):
        effective_access(text, SIDS)


@FAST
@given(st.lists(sddl_alphabet, max_size=40).map("".join))
def test_sddl_parser_never_crashes_on_near_sddl(text: str) -> None:
    with contextlib.suppress(SddlError):
        effective_access(text, SIDS)


@FAST
@given(st.text(), st.one_of(st.none(), st.text(max_size=30)))
def test_path_parser_never_crashes(raw: str, server: str | None) -> None:
    try:
        ref = parse_path(raw, server)
    except NameError_:
        return
    assert ref.server and (ref.share or ref.kind == "local")


@FAST
@given(st.text())
def test_spn_parser_never_crashes(text: str) -> None:
    parse_spn(text)


toml_values = st.recursive(
    st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.floats(allow_nan=False)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["hosts", "x", "export_path"]), inner,
                                                                 max_size=3),
    max_leaves=8,
)


@FAST
@given(st.dictionaries(st.sampled_from(["source", "target", "accounts", "policy", "winrm", "directory", "zzz"]),
                       st.dictionaries(st.sampled_from(["hosts", "export_path", "import_path", "vmm_service", "run_as",
                                                        "server", "transport", "port", "password", "copy_frequency"]),
                                       toml_values, max_size=4), max_size=6))
def test_site_loader_never_crashes_on_structured_input(data: dict[str, dict[str, object]]) -> None:
    lines = []
    for table, values in data.items():
        lines.append(f"[{table}]")
        for key, value in values.items():
            lines.append(f"{key} = {json.dumps(value)}")
    try:
        parse_site("\n".join(lines), "site.toml")
    except SiteFileError as exc:
        assert str(exc).startswith("site.toml")


@FAST
@given(st.text())
def test_site_loader_never_crashes_on_text(text: str) -> None:
    try:
        parse_site(text, "site.toml")
    except SiteFileError as exc:
        assert str(exc).startswith("site.toml")


@FAST
@given(st.binary(max_size=400), st.integers(min_value=-3, max_value=3))
def test_host_output_parser_never_crashes_on_bytes(data: bytes, code: int) -> None:
    facts = parse_output("h", data, b"", code)
    assert facts.error is not None or facts.reachable


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=10)


@FAST
@given(st.dictionaries(st.sampled_from(["paths", "local_groups", "vms", "os", "hyperv", "firewall_rules",
                                        "replication_server", "ip_addresses", "errors", "computer_name"]),
                       json_values, max_size=6))
def test_host_output_parser_never_crashes_on_wrong_shapes(doc: dict[str, object]) -> None:
    payload = json.dumps({"schema": "offlineprep/host/v1", **doc}).encode()
    parse_output("h", payload, b"", 0)


masks = st.integers(min_value=0, max_value=0x1F01FF)
aces = st.lists(st.tuples(st.sampled_from(["A", "D"]), st.sampled_from(["", "OICI", "IO", "ID"]), masks,
                          st.sampled_from(SIDS)), max_size=6)


def sddl_of(owner: str, ace_list: list[tuple[str, str, int, str]]) -> str:
    return f"O:{owner}G:SYD:" + "".join(f"({t};{f};0x{m:x};;;{s})" for t, f, m, s in ace_list)


@FAST
@given(aces, st.sampled_from(SIDS), st.lists(st.sampled_from(SIDS[:3]), min_size=1, max_size=3), masks)
def test_allow_for_a_sid_outside_the_token_changes_nothing(ace_list, owner, token, mask) -> None:  # type: ignore[no-untyped-def]
    outsider = "S-1-5-21-9-9-9-4242"
    before = effective_access(sddl_of(owner, ace_list), token)
    after = effective_access(sddl_of(owner, [*ace_list, ("A", "", mask, outsider)]), token)
    assert before == after


@FAST
@given(aces, st.sampled_from(SIDS), st.lists(st.sampled_from(SIDS), min_size=1, max_size=4))
def test_deny_everything_first_leaves_only_owner_rights(ace_list, owner, token) -> None:  # type: ignore[no-untyped-def]
    granted = effective_access(sddl_of(owner, [("D", "", 0xFFFFFFFF, token[0]), *ace_list]), token)
    owner_bits = READ_CONTROL | WRITE_DAC if owner in token else 0
    assert granted & ~owner_bits == 0


@FAST
@given(st.lists(st.tuples(st.just("D"), st.just(""), masks, st.sampled_from(SIDS)), max_size=3),
       st.lists(st.tuples(st.just("A"), st.just(""), masks, st.sampled_from(SIDS)), max_size=4),
       st.randoms(), st.lists(st.sampled_from(SIDS), min_size=1, max_size=4))
def test_order_of_allows_after_all_denies_does_not_matter(denies, allows, rnd, token) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(allows)
    rnd.shuffle(shuffled)
    owner = "S-1-5-18"
    assert effective_access(sddl_of(owner, denies + allows), token) == \
        effective_access(sddl_of(owner, denies + shuffled), token)


@FAST
@given(aces, aces, st.lists(st.sampled_from(SIDS), min_size=1, max_size=4))
def test_share_intersect_ntfs_never_exceeds_either(share_aces, ntfs_aces, token) -> None:  # type: ignore[no-untyped-def]
    share, ntfs = sddl_of("S-1-5-18", share_aces), sddl_of("S-1-5-18", ntfs_aces)
    both = share_and_ntfs(share, ntfs, token)
    assert both & ~effective_access(share, token) == 0
    assert both & ~effective_access(ntfs, token) == 0
