"""Names as Windows writes them: every rule here decides a real Kerberos or SMB outcome."""

from __future__ import annotations

import pytest

from offlineprep.names import (
    HostName,
    NameError_,
    is_exact_spn,
    is_ip_address,
    parse_account,
    parse_path,
    parse_spn,
    short_name,
)


@pytest.mark.parametrize(
    ("raw", "server", "share", "sub"),
    [
        (r"\\fs01.contoso.com\ASRExport", "fs01.contoso.com", "ASRExport", ""),
        (r"\\fs01\ASRExport\VMs\Batch1", "fs01", "ASRExport", r"VMs\Batch1"),
        ("\\\\fs01\\ASRExport\\", "fs01", "ASRExport", ""),
        (r"\\?\UNC\fs01\ASRExport\x", "fs01", "ASRExport", "x"),
        ("//fs01/ASRExport/x", "fs01", "ASRExport", "x"),
        (r"\\192.168.1.5\C$\ClusterStorage", "192.168.1.5", "C$", "ClusterStorage"),
        (r"\\fe80--1.ipv6-literal.net\share", "fe80--1.ipv6-literal.net", "share", ""),
    ],
)
def test_unc_paths(raw: str, server: str, share: str, sub: str) -> None:
    ref = parse_path(raw)
    assert (ref.kind, ref.server, ref.share, ref.subpath) == ("unc", server, share, sub)


def test_admin_shares_and_ip_addresses_are_recognised() -> None:
    assert parse_path(r"\\192.168.1.5\C$").is_admin_share
    assert parse_path(r"\\192.168.1.5\C$").server_is_ip
    assert parse_path(r"\\fs01\ADMIN$").is_admin_share
    assert not parse_path(r"\\fs01\Export$").is_admin_share  # a hidden share is still a real share
    assert parse_path(r"\\fe80--1.ipv6-literal.net\s").server_is_ip


def test_local_path_needs_its_server() -> None:
    ref = parse_path(r"D:\ASRExport", "fs01.contoso.com")
    assert (ref.kind, ref.server, ref.local_path, ref.share) == ("local", "fs01.contoso.com", r"D:\ASRExport", None)
    with pytest.raises(NameError_, match="export_server"):
        parse_path(r"D:\ASRExport")


@pytest.mark.parametrize(
    "bad",
    ["", " \\\\fs\\s", r"\\fs01", r"\\\share", "fs01\\share", r"\\fs 01\share", r"\\fs01\sh|are",
     "\\\\fs01\\share\nx", r"\\fs01\share\\\x", r"\\-bad-\share"],
)
def test_unparseable_paths_raise_a_clear_error(bad: str) -> None:
    with pytest.raises(NameError_):
        parse_path(bad)


def test_short_and_fqdn_forms() -> None:
    assert short_name("FS01.contoso.com") == "FS01"
    assert short_name("10.0.0.1") == "10.0.0.1"
    assert HostName("hv01").same_machine("HV01.contoso.com")
    assert HostName("HV01.CONTOSO.COM.").same_machine("hv01.contoso.com")
    assert not HostName("hv01.contoso.com").same_machine("hv01.fabrikam.com")
    assert not HostName("hv01").same_machine("hv02.contoso.com")
    assert not HostName("10.0.0.1").same_machine("10.0.0.10")
    assert not HostName("hv01").same_machine("hv01.fabrikam.com", "contoso.com")  # the domain counts when known
    assert is_ip_address("::1") and is_ip_address("[::1]") and not is_ip_address("fs01")


def test_spns_compare_case_insensitively_ignoring_service_name_but_not_the_name_form() -> None:
    spn = parse_spn("CIFS/FS01.contoso.com/CONTOSO")
    assert spn is not None
    assert spn.same_target("cifs", "fs01.contoso.com")
    assert not spn.same_target("cifs", "fs01")
    with_port = parse_spn("ldap/dc1.contoso.com:389/contoso.com")
    assert with_port is not None and with_port.port == 389 and with_port.host == "dc1.contoso.com"
    assert parse_spn("nonsense") is None
    assert parse_spn("cifs/") is None


def test_the_spn_s4u2proxy_matches_is_exactly_two_parts() -> None:
    assert is_exact_spn("CIFS/FS01.Contoso.Com", "cifs", "fs01.contoso.com")
    for other in ("cifs/fs01.contoso.com/contoso.com", "cifs/fs01.contoso.com:445", "cifs/fs01.contoso.com.",
                  "HOST/fs01.contoso.com", "cifs/fs01", " cifs/fs01.contoso.com"):
        assert not is_exact_spn(other, "cifs", "fs01.contoso.com"), other


def test_account_names() -> None:
    assert parse_account("CONTOSO\\svc-vmm").name == "svc-vmm"
    assert parse_account("CONTOSO\\svc-vmm").domain == "CONTOSO"
    upn = parse_account("svc-vmm@contoso.com")
    assert (upn.name, upn.domain, upn.is_upn) == ("svc-vmm", "contoso.com", True)
    assert parse_account("svc-vmm").domain is None
    for bad in ["", "\\x", "x\\", "@x"]:
        with pytest.raises(NameError_):
            parse_account(bad)
