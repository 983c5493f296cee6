"""The name value types (offlineprep.names.HostName, DomainName, Account, HostIndex): one rule for
comparing names everywhere, with the Windows behaviour behind each rule in the test names."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offlineprep.names import Account, DomainName, HostIndex, HostName, NameError_, unique_names

LABEL = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=20)
# a top-level label is never all-numeric (RFC 1123 2.1): a dotted name of numbers is an address
TLD = st.text(alphabet=string.ascii_letters, min_size=1, max_size=6)
FQDN = st.tuples(st.lists(LABEL, min_size=1, max_size=3), TLD).map(lambda parts: ".".join([*parts[0], parts[1]]))
NAME = st.one_of(LABEL, FQDN)


def _spell(name: str, upper: list[bool], dot: bool) -> str:
    chars = [c.upper() if i < len(upper) and upper[i] else c.lower() for i, c in enumerate(name)]
    return "".join(chars) + ("." if dot else "")


@given(NAME, st.lists(st.booleans(), max_size=40), st.booleans(), st.booleans())
def test_case_and_the_root_dot_never_make_another_name(name: str, upper: list[bool], dot1: bool, dot2: bool) -> None:
    a, b = HostName(_spell(name, upper, dot1)), HostName(_spell(name, upper[::-1], dot2))
    assert a == b and hash(a) == hash(b) and a.same_name(b) and a.same_machine(b)
    assert a.label == b.label and a.suffix == b.suffix and a.netbios == b.netbios


@given(NAME, NAME)
def test_names_that_differ_other_than_by_case_or_dot_are_different(a: str, b: str) -> None:
    if a.casefold() != b.casefold():
        assert HostName(a) != HostName(b)


@given(LABEL, FQDN)
def test_a_short_name_is_the_machine_of_any_fqdn_with_its_label_when_no_domain_is_known(label: str, domain: str) -> None:
    fqdn = HostName(f"{label}.{domain}")
    short = HostName(label.upper())
    assert short.same_machine(fqdn) and fqdn.same_machine(short)
    assert not short.same_name(fqdn)  # two names to Kerberos (cifs/x and cifs/x.domain are two SPNs)
    assert short.same_machine(fqdn, domain=domain.upper() + ".")
    assert not short.same_machine(fqdn, domain="other." + domain)


@given(st.lists(NAME, max_size=30))
def test_same_machine_is_symmetric(names: list[str]) -> None:
    hosts = [HostName(n) for n in names]
    for a in hosts:
        for b in hosts:
            assert a.same_machine(b) == b.same_machine(a)
            assert a.same_machine(b, "x.test") == b.same_machine(a, "x.test")


def test_two_fqdns_are_never_one_machine_by_name() -> None:
    # hv01.contoso.com and hv01.fabrikam.com are two computers; an alias is found by asking the machine
    assert not HostName("hv01.contoso.com").same_machine("hv01.fabrikam.com")
    assert not HostName("hv01.contoso.com").same_machine("hv01.emea.contoso.com")  # a child domain is another domain


def test_ip_addresses_are_the_same_machine_only_as_the_same_address() -> None:
    assert HostName("10.0.0.1") == HostName("10.0.0.1")
    assert HostName("[::1]") == HostName("0:0::1")
    assert not HostName("10.0.0.1").same_machine("10.0.0.10")
    assert not HostName("10.0.0.1").same_machine("hv01")
    assert HostName("10.0.0.1").is_ip and not HostName("10.0.0.1").is_fqdn
    assert HostName("10.0.0.1").label == "10.0.0.1" and HostName("10.0.0.1").in_domain("x.test") is None


def test_netbios_name_and_computer_account_follow_windows_truncation() -> None:
    long = HostName("hyperv-node-0001.contoso.com")
    assert long.netbios == "HYPERV-NODE-000" and long.computer_account == "HYPERV-NODE-000$"
    assert long.matches_account("hyperv-node-000$")
    assert not long.matches_account("HYPERV-NODE-0001$")
    assert not HostName("10.0.0.1").matches_account("10.0.0.1$")


def test_a_computer_account_is_written_one_way() -> None:
    assert HostName("vmm01.contoso.com").logon_name("CONTOSO") == "CONTOSO\\VMM01$"
    assert HostName("vmm01").logon_name("contoso.com") == "contoso.com\\VMM01$"  # the domain as given
    assert HostName("hyperv-node-0001.contoso.com").logon_name() == "HYPERV-NODE-000$"
    assert Account.down_level("HV-Admins", "LAB") == Account("lab\\hv-admins")
    assert Account.down_level("HV-Admins", None).text == Account.down_level("HV-Admins", "").text == "HV-Admins"
    assert Account(HostName("fs01.contoso.com").logon_name("CONTOSO")).machine == HostName("FS01")


def test_the_forms_a_check_needs() -> None:
    name = HostName("FS01.Contoso.com.")
    assert (name.bare, name.short, name.label, name.suffix) == ("FS01.Contoso.com", "FS01", "fs01", "contoso.com")
    assert name.in_domain("CONTOSO.COM") is True and name.in_domain("fabrikam.com") is False
    assert HostName("fs01").qualified("contoso.com") == "fs01.contoso.com"
    assert HostName("fs01").in_domain("contoso.com") is None
    assert str(name) == "FS01.Contoso.com." and name == "fs01.contoso.com"


def test_parse_refuses_what_no_windows_name_is() -> None:
    for bad in ["", " fs01", "fs 01", "-fs01", "fs01..contoso.com", "x" * 64]:
        with pytest.raises(NameError_):
            HostName.parse(bad)
    assert HostName.parse("fs01.contoso.com.").key == "fs01.contoso.com"


def test_domain_names() -> None:
    assert DomainName("Contoso.COM.") == "contoso.com"
    assert DomainName.from_dn("CN=HV01,CN=Computers,DC=Contoso,DC=com") == DomainName("contoso.com")
    assert DomainName.from_dn("CN=x") is None and DomainName.from_dn(None) is None
    assert DomainName("contoso.com").contains("HV01.CONTOSO.COM.")
    assert not DomainName("contoso.com").contains("hv01.emea.contoso.com")
    assert DomainName("contoso.com").base_dn == "DC=contoso,DC=com"
    assert DomainName("contoso.com").first_label == "contoso"


def test_accounts_compare_as_windows_resolves_them() -> None:
    netbios = {"CONTOSO": "contoso.com", "FABRIKAM": "fabrikam.com"}
    assert Account("CONTOSO\\svc-vmm") == Account("contoso\\SVC-VMM")
    assert Account("CONTOSO\\svc-vmm").same_account("contoso.com\\svc-vmm", netbios)
    assert not Account("CONTOSO\\svc-vmm").same_account("FABRIKAM\\svc-vmm", netbios)
    assert Account("svc-vmm").same_account("FABRIKAM\\svc-vmm")  # no domain written: any domain
    assert Account("svc-vmm@contoso.com").same_account("SVC-VMM@CONTOSO.COM")
    assert not Account("svc-vmm@contoso.com").same_account("CONTOSO\\svc-vmm", netbios)  # a UPN suffix is no domain
    assert Account("CONTOSO\\svc-vmm").domain_key(netbios) == "contoso.com"
    vmm = Account("CONTOSO\\VMM01$")
    assert vmm.is_computer and vmm.machine == HostName("vmm01")
    assert not Account("svc@contoso.com").is_computer
    assert Account("CONTOSO\\svc-vmm") == "contoso\\svc-vmm" and Account("x\\y") != "\\bad"


def test_host_index_keeps_the_first_spelling_and_finds_the_machine() -> None:
    index: HostIndex[int] = HostIndex()
    index.setdefault("HV01.lab.test", 1)
    index.setdefault("hv01.lab.test.", 2)
    index["hv01.LAB.test"] = 3
    index["hv02"] = 4
    assert index.names() == ["HV01.lab.test", "hv02"]
    assert index.get("hv01.lab.test") == 3 and "HV01.LAB.TEST." in index and len(index) == 2
    assert index.machine("hv01") == 3  # short name: the FQDN with that label
    assert index.machine("hv02.lab.test") == 4
    assert index.machine("hv02.other.test", domain="lab.test") is None
    index["hv01.other.test"] = 5
    assert index.machine("hv01") is None  # two candidates: unknown, never a guess
    assert index.machine("hv01", domain="lab.test") == 3


def test_unique_names_follow_the_value_type() -> None:
    assert unique_names(["hv01", "HV01.", "hv02", "hv01"]) == ["hv01", "hv02"]


def test_the_old_domain_blind_helper_is_gone() -> None:
    import offlineprep.names

    assert not hasattr(offlineprep.names, "same_computer")  # HostName.same_machine, with the domain when known


# ----------------------------------------------------------------- the one rule, everywhere


def test_keys_and_helpers_follow_the_value_types() -> None:
    from offlineprep.names import domain_key, host_key, same_account_text, same_domain

    assert host_key("HV01.Contoso.COM.") == host_key("hv01.contoso.com") == HostName("hv01.contoso.com").key
    assert host_key("10.0.0.1.") == "10.0.0.1"
    assert domain_key("Contoso.COM.") == "contoso.com" and domain_key(None) is None and domain_key("") is None
    assert same_domain("contoso.com.", "CONTOSO.com") and not same_domain("emea.contoso.com", "contoso.com")
    assert not same_domain(None, "contoso.com")
    assert same_account_text("CONTOSO\\svc-vmm", "contoso\\SVC-VMM")
    assert not same_account_text("CONTOSO\\svc-vmm", "FABRIKAM\\svc-vmm")
    assert same_account_text("svc@contoso.com", "SVC@Contoso.com")


@given(NAME)
def test_a_name_and_its_root_dotted_upper_case_form_share_one_key(name: str) -> None:
    from offlineprep.names import host_key

    assert host_key(name) == host_key(name.upper() + ".")


def test_no_module_normalises_host_or_domain_names_by_hand() -> None:
    """Host and domain names are compared through offlineprep.names (HostName, DomainName, host_key,
    domain_key): stripping the root dot by hand is how 27 call sites each decided alone (issue 15).
    Allowed: names.py itself, the lab (it plays Windows), and certificate name matching (RFC 6125
    wildcards, winrm/diagnose.py)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    allowed = {"offlineprep/names.py", "offlineprep/winrm/diagnose.py"}
    offenders = []
    for path in [*root.glob("offlineprep/**/*.py"), *root.glob("checks/*.py")]:
        rel = path.relative_to(root).as_posix()
        if rel in allowed or rel.startswith("offlineprep/lab/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if 'rstrip(".")' in line or "rstrip(chr(46))" in line:
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_a_name_may_be_a_hyperv_host_only_in_the_hosts_own_domain() -> None:
    from offlineprep.inventory import InventoryBuilder, Origin, Role

    builder = InventoryBuilder()
    builder.add_host("hv01.lab.test", Role.SOURCE, Origin.VMM, domain="lab.test")
    builder.add_host("hv02.dns.test", Role.SOURCE, Origin.VMM, domain="lab.test")  # DNS suffix apart from AD's
    builder.add_host("hv03", Role.TARGET, Origin.SITE_FILE)  # no domain said: any with that label
    inventory = builder.build()
    assert inventory.may_be_hyperv_host("HV01") and inventory.may_be_hyperv_host("hv01.lab.test.")
    assert not inventory.may_be_hyperv_host("hv01.other.test")
    assert not inventory.may_be_hyperv_host("hv02")  # a short name means hv02.lab.test there, not hv02.dns.test
    assert inventory.may_be_hyperv_host("hv03.anything.test") and not inventory.may_be_hyperv_host("hv04")
