"""Several domains (issue 15, item 7): each object read from its own domain's directory, an account's
token built from its own domain's groups, resource-based delegation across domains decided by the
KDC's access check, and each AD fix sent to a domain controller of the domain it changes.

The facts here are what the directory collector writes for two [[directory]] tables; the collector
itself runs against the in-process lab directory (two of them) at the end of the file, and against
two real Samba DCs in tests/integration/test_two_samba_dcs.py."""

from __future__ import annotations

import math
from typing import Any

from builders import CHECKS, DOM, by_subject, directory, hosts, run, site, statuses

from offlineprep.actions.types import AllowDelegationFrom
from offlineprep.collect.directory import collect_directory
from offlineprep.collect.requests import DirectoryRequest, HostRequest
from offlineprep.engine import Need
from offlineprep.facts import ComputerAccount, DirectoryFacts, Facts, HostFacts, ToolStamp
from offlineprep.lab.directory import LabDirectory, rbcd_descriptor
from offlineprep.pipeline import Collectors, RunOptions, build_results, collect
from offlineprep.rbcd import sddl_from_security_descriptor
from offlineprep.site import DirectoryConfig, Site

FAB = "S-1-5-21-700-800-900"
HV_HOSTS = f"{DOM}-1300"  # CONTOSO\HV-Hosts: hv01 and hv11 are members, hv02 is not
FS11 = "fs11.fabrikam.com"


def _two_sites() -> Site:
    return site(directory=[
        {"domain": "contoso.com", "server": "ldaps://dc1.contoso.com", "user": "u@contoso.com"},
        {"domain": "fabrikam.com", "server": "ldaps://dc7.fabrikam.com", "user": "u@fabrikam.com",
         "password_env": "FABRIKAM_LDAP_PASSWORD"}],
        target__import_path=rf"\\{FS11}\ASRImport")


def _fs11(allowed: list[str] | None) -> ComputerAccount:
    blob = rbcd_descriptor(allowed) if allowed else None
    return ComputerAccount(
        query=FS11, found=True, distinguished_name="CN=FS11,CN=Computers,DC=fabrikam,DC=com",
        sam_account_name="FS11$", dns_host_name=FS11, object_sid=f"{FAB}-3011", user_account_control=0x1000,
        rbcd_allowed_sids=list(allowed or []), rbcd_sddl=sddl_from_security_descriptor(blob) if blob else None,
        service_principal_names=["HOST/FS11", f"HOST/{FS11}"])


def _two_domains(allowed: list[str] | None) -> Facts:
    """contoso.com holds the hosts and FS01 (export); fabrikam.com holds FS11 (import). Every host
    lists cifs/ of both file servers: the classic setting, which does not cross domains."""
    contoso = directory()
    del contoso.computers["fs11.contoso.com"]
    del contoso.spn_holders["fs11.contoso.com"]
    both = ["cifs/fs01.contoso.com", "cifs/FS01", f"cifs/{FS11}", "cifs/FS11"]
    groups = {"hv01.contoso.com": [HV_HOSTS, f"{DOM}-515"], "hv02": [f"{DOM}-515"],
              "hv11.contoso.com": [HV_HOSTS, f"{DOM}-515"]}
    for name, account in list(contoso.computers.items()):
        update: dict[str, Any] = {"group_sids": groups.get(name)}
        if name in groups:
            update["allowed_to_delegate_to"] = both
        contoso.computers[name] = account.model_copy(update=update)
    contoso.groups_read = True
    fs11 = _fs11(allowed)
    fabrikam = DirectoryFacts(server="ldaps://dc7.fabrikam.com", domain_dns_name="fabrikam.com",
                              netbios_name="FABRIKAM", domain_sid=FAB, computers={FS11: fs11},
                              spn_holders={FS11: [dict(spn=f"HOST/{FS11}", distinguished_name=fs11.distinguished_name,
                                                       sam_account_name="FS11$")]})  # type: ignore[list-item]
    h = hosts()
    h[FS11] = h.pop("fs11.contoso.com").model_copy(update={"name": FS11, "computer_name": "FS11.fabrikam.com",
                                                            "domain": "fabrikam.com"})
    facts = Facts(tool=ToolStamp(version="test"), hosts=h)
    facts.add_directory(contoso)
    facts.add_directory(fabrikam)
    return facts


def test_classic_delegation_across_domains_fails_and_the_fix_is_resource_based_in_the_file_servers_domain() -> None:
    found = run("ad.delegation", _two_sites(), _two_domains(allowed=None))
    assert statuses(found) == {
        ("hv01.contoso.com->fs01.contoso.com", "pass"), (f"hv01.contoso.com->{FS11}", "fail"),
        ("hv02->fs01.contoso.com", "pass"), (f"hv02->{FS11}", "fail"), (f"hv11.contoso.com->{FS11}", "warn")}
    finding = by_subject(found, "hv01.contoso.com", FS11)
    # FS11's account was read, in its own domain: no "cannot be seen", and what it allows now is known
    assert "does not cross domains" in finding.message and "cannot be seen" not in finding.message
    assert finding.evidence["path_computer_domain"] == "fabrikam.com"
    assert finding.remediation is not None
    action = finding.remediation.actions[0]
    assert isinstance(action, AllowDelegationFrom)
    assert (action.computer, action.computer_domain, action.principals) == ("FS11", "fabrikam.com", ["HV01"])


def test_resource_based_delegation_to_the_hosts_group_lets_its_members_through_across_domains() -> None:
    """FS11 (fabrikam.com) allows the group CONTOSO\\HV-Hosts: the KDC checks the front end's token,
    and HV01's groups were read in contoso.com, its own domain. HV02 is not a member."""
    found = run("ad.delegation", _two_sites(), _two_domains(allowed=[HV_HOSTS]))
    assert by_subject(found, "hv01.contoso.com", FS11).status.value == "pass"
    assert by_subject(found, "hv11.contoso.com", FS11).status.value == "pass"
    hv02 = by_subject(found, "hv02", FS11)
    assert hv02.status.value == "fail" and hv02.evidence["host_groups"] == [f"{DOM}-515"]
    # allowing the host's own SID works as well; a SID of another host does not
    found = run("ad.delegation", _two_sites(), _two_domains(allowed=[f"{DOM}-2002"]))
    assert by_subject(found, "hv02", FS11).status.value == "pass"
    assert by_subject(found, "hv01.contoso.com", FS11).status.value == "fail"


def test_each_name_is_judged_in_the_domain_that_read_it() -> None:
    """ad.delegation-target judges FS11's SPN holders in fabrikam.com (read there), not as "another
    domain, not read"; ad.host-account names the host's own domain."""
    facts = _two_domains(allowed=[HV_HOSTS])
    target = by_subject(run("ad.delegation-target", _two_sites(), facts), FS11)
    assert target.status.value == "pass", target.message
    facts.directories["contoso.com"].computers["hv02"] = ComputerAccount(query="hv02", found=False)  # type: ignore[index]
    missing = by_subject(run("ad.host-account", _two_sites(), facts), "hv02")
    assert missing.status.value == "fail" and "in contoso.com" in missing.message


def test_each_ad_fix_goes_to_a_dc_of_the_domain_that_read_its_subject() -> None:
    """Hosts of the second [[directory]] are fixed through that domain's DC; the first domain's
    through its own."""
    the_site = site(directory=[
        {"domain": "fabrikam.com", "server": "ldaps://dc7.fabrikam.com", "user": "u@fabrikam.com"},
        {"domain": "contoso.com", "server": "ldaps://dc1.contoso.com", "user": "u@contoso.com"}])
    facts = _two_domains(allowed=None)
    contoso = facts.directories["contoso.com"]  # type: ignore[index]
    contoso.computers["hv02"] = contoso.computers["hv02"].model_copy(update={"user_account_control": 0x1000})
    facts.directories = {"fabrikam.com": facts.directories["fabrikam.com"], "contoso.com": contoso}  # type: ignore[index]
    results = build_results(the_site, [CHECKS["ad.delegation"]], facts, RunOptions())
    hv02 = next(f for f in results.findings if f.subject == "hv02" and f.target == "fs01.contoso.com")
    assert hv02.status.value == "fail" and hv02.remediation is not None
    assert "-Server 'dc1.contoso.com'" in hv02.remediation.powershell
    assert "dc7.fabrikam.com" not in hv02.remediation.powershell


# ----------------------------------------------------------------- the collector, two lab directories


def _labs(n: int, allowed_group: bool) -> tuple[LabDirectory, LabDirectory, list[str]]:
    contoso = LabDirectory(domain="contoso.com", domain_sid=DOM)
    fabrikam = LabDirectory(domain="fabrikam.com", domain_sid=FAB)
    top = contoso.group("All-Hyper-V")
    contoso.group("HV-Hosts", member_of=["All-Hyper-V"])
    names = [f"hv{i:04}.contoso.com" for i in range(n)]
    sids = [contoso.computer(name.split(".")[0], groups=["HV-Hosts"]) for name in names]
    contoso.computer("fs01")
    contoso.user("svc-vmm")
    fabrikam.computer("fs11", rbcd=[top] if allowed_group else sids[:1])
    return contoso, fabrikam, names


def _site_for(names: list[str]) -> Site:
    return Site.model_validate({
        "directory": [{"domain": "contoso.com", "server": "ldaps://dc1.contoso.com", "user": "u@contoso.com"},
                      {"domain": "fabrikam.com", "server": "ldaps://dc7.fabrikam.com", "user": "u@fabrikam.com"}],
        "winrm": {"transport": "basic", "scheme": "http", "user": "u"},
        "accounts": {"vmm_service": "CONTOSO\\svc-vmm"},
        "source": {"hosts": names[: len(names) // 2], "export_path": r"\\fs01.contoso.com\Exp"},
        "target": {"hosts": names[len(names) // 2:], "import_path": rf"\\{FS11}\Imp"},
    })


def _collect(contoso: LabDirectory, fabrikam: LabDirectory, names: list[str]) -> tuple[Facts, list[str]]:
    order: list[str] = []

    def directory(config: DirectoryConfig, request: DirectoryRequest, password: str | None) -> DirectoryFacts:
        lab = contoso if config.domain == "contoso.com" else fabrikam
        order.append(lab.domain)
        return collect_directory(lab.config(), request, lab.password, connect=lab.connect)

    def no_hosts(winrm: Any, requests: list[HostRequest], password: str | None, **_: Any) -> dict[str, HostFacts]:
        raise AssertionError("ad.* needs no host facts")

    facts = collect(_site_for(names), frozenset({Need.DIRECTORY}), Collectors(directory=directory, hosts=no_hosts),
                    lambda env, purpose: "pw")
    return facts, order


def test_a_descriptor_naming_a_group_of_the_hosts_domain_has_the_hosts_groups_read_there() -> None:
    """The file server's domain is read first; its descriptor names CONTOSO\\All-Hyper-V, so the
    hosts' groups are read in contoso.com (HV-Hosts, nested in All-Hyper-V): every host passes."""
    contoso, fabrikam, names = _labs(250, allowed_group=True)
    facts, order = _collect(contoso, fabrikam, names)
    assert order == ["fabrikam.com", "contoso.com"]  # no second pass
    assert facts.directories is not None and facts.directories["contoso.com"].groups_read
    results = build_results(_site_for(names), [CHECKS["ad.delegation"]], facts, RunOptions())
    to_fs11 = [f for f in results.findings if f.target == FS11]
    assert len(to_fs11) == 250 and all(f.status.value in {"pass", "warn"} for f in to_fs11), \
        {f.status.value for f in to_fs11}
    # LDAP searches per domain stay within ceil(N/100) + 5, the group levels included
    per_domain = facts.statistics["ldap_searches_per_domain"]
    assert per_domain["contoso.com"] <= math.ceil(252 / 100) + 5, per_domain
    assert per_domain["fabrikam.com"] <= math.ceil(1 / 100) + 5, per_domain


def test_groups_cost_no_search_when_no_descriptor_names_a_group() -> None:
    contoso, fabrikam, names = _labs(250, allowed_group=False)
    facts, _ = _collect(contoso, fabrikam, names)
    assert facts.directories is not None
    read = facts.directories["contoso.com"]
    assert not read.groups_read and read.computers[names[0]].group_sids is None
    # rootDSE, NetBIOS name, svc-vmm's tokenGroups, the names of its groups
    assert facts.statistics["ldap_searches_per_domain"]["contoso.com"] <= math.ceil(252 / 100) + 4
    results = build_results(_site_for(names), [CHECKS["ad.delegation"]], facts, RunOptions())
    allowed = next(f for f in results.findings if f.subject == names[0] and f.target == FS11)
    assert allowed.status.value in {"pass", "warn"}  # its own SID is allowed (a target host warns at most)
    other = next(f for f in results.findings if f.subject == names[1] and f.target == FS11)
    assert other.status.value in {"fail", "warn"} and "resource-based" in other.message


def test_a_domain_read_before_a_descriptor_named_its_group_is_read_again() -> None:
    """Both domains hold Hyper-V hosts, so neither is read first for its path computers: contoso.com
    is read (no descriptor there names a group), then FS11 of fabrikam.com turns out to allow
    CONTOSO\\All-Hyper-V, so contoso.com is read again, with its hosts' groups this time; its
    searches are those of both passes."""
    contoso, fabrikam, names = _labs(10, allowed_group=True)
    fabrikam.computer("hv9000")
    site_names = [*names, "hv9000.fabrikam.com"]
    facts, order = _collect(contoso, fabrikam, site_names)
    assert order == ["contoso.com", "fabrikam.com", "contoso.com"]
    assert facts.directories is not None and facts.directories["contoso.com"].groups_read
    assert list(facts.directories) == ["contoso.com", "fabrikam.com"]  # the site file's order: contoso first
    # without groups; then with them (two levels, the names riding along)
    assert facts.statistics["ldap_searches_per_domain"]["contoso.com"] == 5 + 6
    results = build_results(_site_for(site_names), [CHECKS["ad.delegation"]], facts, RunOptions())
    assert all(f.status.value in {"pass", "warn"} for f in results.findings
               if f.target == FS11 and f.subject in names), [f.message for f in results.findings]
