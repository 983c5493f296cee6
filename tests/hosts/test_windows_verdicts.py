"""Verdicts on what Windows really returns: through the collection script's logic, real pywinrm and
the loopback endpoint, then the checks. Each scenario is one a real site has and the old lab did not:
a share scoped to another cluster access point, an offline volume, a DFS namespace path, a local
group with an orphaned and an unreadable member, Windows' default group memberships, link-local
addresses repeated across machines (issue 11 items 8, 9, 10, 12, 22)."""

from __future__ import annotations

from typing import Any

import pytest
from builders import DOM, RUNAS_SID, VMM_SID, directory, site

from offlineprep.collect.hosts import collect_hosts
from offlineprep.collect.requests import HostRequest
from offlineprep.engine import CheckContext, discover, run_check
from offlineprep.facts import Facts, HostFacts, ToolStamp
from offlineprep.lab.windows import (
    SimDfsNode,
    SimFolder,
    SimGroup,
    SimShare,
    SimulatedHost,
    SimVolume,
    default_groups,
)
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.model import Finding, Status
from offlineprep.names import parse_path
from offlineprep.site import WinRMConfig

PASSWORD = "Verdicts-S3cret-51aa"
CHECKS = {c.id: c for c in discover(include_entry_points=False).checks}
EXPORT, IMPORT = r"\\fs01.contoso.com\ASRExport", r"\\fs11.contoso.com\ASRImport"
NTFS = f"O:BAG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;{VMM_SID})(A;OICI;0x1301bf;;;{RUNAS_SID})"
SHARE = f"O:BAG:SYD:(A;;FA;;;{VMM_SID})(A;;0x1301bf;;;{RUNAS_SID})"
ADMINS = [f"{DOM}-1200"]  # CONTOSO\HV-Admins, the VMM account's group in builders.directory()


def file_server(name: str, share: str, drive: str = "D", **kw: Any) -> SimulatedHost:
    kw.setdefault("groups", default_groups(ADMINS, domain_sid=DOM))
    kw.setdefault("shares", [SimShare(share, f"{drive}:\\{share}", SHARE)])
    kw.setdefault("folders", [SimFolder(f"{drive}:\\{share}", NTFS)])
    return SimulatedHost(name, **kw)


def collected(sims: dict[str, SimulatedHost], paths: dict[str, list[str]]) -> dict[str, HostFacts]:
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5)
    requests = [HostRequest(name, paths=[parse_path(p) for p in raws]) for name, raws in paths.items()]
    with WinRMEndpoint(sims, password=PASSWORD) as ep:
        return collect_hosts(config, requests, PASSWORD, session_factory=ep.protocol_factory(5))


def run(check_id: str, hosts: dict[str, HostFacts], the_site: Any = None, the_directory: Any = None) -> list[Finding]:
    facts = Facts(tool=ToolStamp(version="test"), directory=the_directory or directory(), hosts=hosts)
    return run_check(CHECKS[check_id], CheckContext(site=the_site or site(), facts=facts))


def finding(found: list[Finding], subject: str, account: str | None = None) -> Finding:
    return next(f for f in found if f.subject == subject and (account is None or f.account == account))


def both_paths(export_server: SimulatedHost, import_server: SimulatedHost | None = None) -> dict[str, HostFacts]:
    return collected({"fs01.contoso.com": export_server,
                      "fs11.contoso.com": import_server or file_server("FS11.contoso.com", "ASRImport")},
                     {"fs01.contoso.com": [EXPORT], "fs11.contoso.com": [IMPORT]})


# --------------------------------------------------------------------------- item 8: scoped shares


def test_a_share_scoped_to_another_access_point_is_not_this_paths_share() -> None:
    # before: no scope matched fs01, so the script took the first share named ASRExport of any scope
    node = file_server("NODE1.contoso.com", "ASRExport",
                       shares=[SimShare("ASRExport", "J:\\ASRExport", SHARE, scope="FS-CAP2")],
                       folders=[SimFolder("J:\\ASRExport", NTFS)])
    found = finding(run("path.exists", both_paths(node)), EXPORT)
    assert found.status is Status.FAIL
    assert "\\\\FS-CAP2\\ASRExport" in found.message and "another scope" in found.message
    assert found.evidence["share_scopes"] == ["FS-CAP2"]


def test_the_scope_the_name_reaches_decides_which_share_of_that_name() -> None:
    node = file_server("NODE1.contoso.com", "ASRExport", shares=[
        SimShare("ASRExport", "C:\\Local\\ASRExport", SHARE),  # the node's own, default scope
        SimShare("ASRExport", "J:\\ASRExport", SHARE, scope="FS01"),  # the clustered file server fs01
    ], folders=[SimFolder("J:\\ASRExport", NTFS)])
    hosts = both_paths(node)
    path = hosts["fs01.contoso.com"].find_path(EXPORT)
    assert path is not None and path.local_path == "J:\\ASRExport" and path.share is not None
    assert path.share.scope == "FS01" and finding(run("path.exists", hosts), EXPORT).status is Status.PASS


# --------------------------------------------------------------------------- item 9: volumes that are not ready


@pytest.mark.parametrize(("volumes", "words"), [
    ([SimVolume("D:\\", file_system=None, capacity=None, free_space=None)], "is not ready"),
    ([SimVolume("C:\\")], "no volume of this server holds D:\\ASRExport"),
])
def test_a_path_on_a_volume_that_is_not_ready_is_an_error_not_missing(volumes: list[SimVolume], words: str) -> None:
    # before: Get-Item says "not found" for an offline or locked volume, and path.exists failed with
    # "does not exist" (PowerShell Utils.NativeItemExists: only access denied and a bad network path differ)
    hosts = both_paths(file_server("FS01.contoso.com", "ASRExport", folders=[], volumes=volumes))
    for check in ("path.exists", "path.ntfs-full-control", "path.runas-read-write", "path.free-space"):
        result = finding(run(check, hosts), EXPORT)
        assert result.status in {Status.ERROR, Status.SKIP} if check == "path.free-space" else \
            result.status is Status.ERROR, (check, result)
    assert words in finding(run("path.exists", hosts), EXPORT).message


def test_a_missing_folder_on_a_ready_volume_still_fails() -> None:
    hosts = both_paths(file_server("FS01.contoso.com", "ASRExport", folders=[],
                                   volumes=[SimVolume("D:\\")]))
    assert finding(run("path.exists", hosts), EXPORT).status is Status.FAIL


# --------------------------------------------------------------------------- item 10: DFS namespaces


def test_a_domain_based_namespace_path_is_never_judged_as_a_dcs_folder() -> None:
    # the DC answering \\contoso.com\ns holds the namespace root share; before, its folder was judged
    raw = r"\\contoso.com\ns\ASRExport"
    dc = file_server("DC1.contoso.com", "ns", shares=[SimShare("ns", "C:\\DFSRoots\\ns", SHARE)],
                     folders=[SimFolder("C:\\DFSRoots\\ns\\ASRExport", NTFS, reparse_point=True)],
                     dfs_nodes=[SimDfsNode("\\\\contoso.com\\ns", root=True),
                                SimDfsNode("\\\\contoso.com\\ns\\ASRExport", targets=["\\\\fs21\\Exp"])])
    hosts = collected({"contoso.com": dc}, {"contoso.com": [raw]})
    the_site = site(source__export_path=raw)
    for check in ("path.exists", "path.ntfs-full-control", "path.share-full-control", "path.runas-read-write"):
        result = finding(run(check, hosts, the_site), raw)
        assert result.status is Status.ERROR, (check, result)
        assert "DFS namespace" in result.message and "folder target" in result.message
    assert "\\\\fs21\\Exp" in finding(run("path.ntfs-full-control", hosts, the_site), raw).message


def test_a_domain_based_namespace_is_recognised_from_the_directory_alone() -> None:
    raw = r"\\contoso.com\ns\ASRExport"
    the_site = site(source__export_path=raw)
    found = finding(run("path.exists", {}, the_site), raw)  # the name did not even answer WinRM
    assert found.status is Status.ERROR and "domain-based DFS namespace" in found.message


def test_a_folder_that_is_a_dfs_link_of_a_standalone_namespace_is_an_error() -> None:
    raw = r"\\fs01.contoso.com\ns\exp\sub"
    server = file_server("FS01.contoso.com", "ns", shares=[SimShare("ns", "D:\\DFSRoots\\ns", SHARE)],
                         folders=[SimFolder("D:\\DFSRoots\\ns\\exp", NTFS, reparse_point=True)],
                         dfs_nodes=[SimDfsNode("\\\\FS01\\ns", root=True),
                                    SimDfsNode("\\\\FS01\\ns\\exp", targets=["\\\\fs22\\Export$"])])
    hosts = collected({"fs01.contoso.com": server}, {"fs01.contoso.com": [raw]})
    result = finding(run("path.exists", hosts, site(source__export_path=raw)), raw)
    assert result.status is Status.ERROR and "\\\\FS01\\ns" in result.message and "\\\\fs22\\Export$" in result.message


# --------------------------------------------------------------------------- item 12: unreadable group members


def test_an_orphaned_and_an_unreadable_member_cost_only_themselves() -> None:
    groups = default_groups(domain_sid=DOM)
    groups[0] = SimGroup("S-1-5-32-544", "Administrators", [f"{DOM}-512", *ADMINS],
                         orphaned=["S-1-5-21-404-404-404-1105"],  # a deleted account of an untrusted domain
                         broken=[("WinNT://FABRIKAM/old-admins", "The trust relationship between this workstation "
                                                                 "and the primary domain failed.")])
    hosts = both_paths(file_server("FS01.contoso.com", "ASRExport", groups=groups))
    admins = next(g for g in hosts["fs01.contoso.com"].local_groups if g.sid == "S-1-5-32-544")
    assert "S-1-5-21-404-404-404-1105" in admins.member_sids  # kept as its SID
    assert admins.unreadable_members and "FABRIKAM/old-admins" in admins.unreadable_members[0]
    assert finding(run("path.share-host-group", hosts), EXPORT).status is Status.PASS


def test_the_script_reads_each_member_on_its_own() -> None:
    # before: one loop over the members with no try inside, so one unreadable member lost every group
    from offlineprep.collect.hosts import collection_script

    script = collection_script()
    members = script.index("foreach ($member in @($adsi.Invoke('Members')))")
    assert script.index("try { $path = [string]$member.GetType()", members) < script.index("$groups += , $entry")
    assert "'^WinNT://(S-1-[0-9-]+)$'" in script


# --------------------------------------------------------------------------- item 22: Windows' defaults


def test_domain_users_get_the_users_groups_rights_on_the_file_server() -> None:
    # Windows puts DOMAIN\Domain Users (and Authenticated Users, INTERACTIVE) into a member server's
    # Users group; a folder granting BUILTIN\Users modify therefore grants it to every domain account
    ntfs = f"O:BAG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;{VMM_SID})(A;OICI;0x1301bf;;;BU)"
    share = f"O:BAG:SYD:(A;;FA;;;{VMM_SID})(A;;0x1301bf;;;AU)"
    server = file_server("FS01.contoso.com", "ASRExport", shares=[SimShare("ASRExport", "D:\\ASRExport", share)],
                         folders=[SimFolder("D:\\ASRExport", ntfs)])
    hosts = both_paths(server)
    users = next(g for g in hosts["fs01.contoso.com"].local_groups if g.sid == "S-1-5-32-545")
    assert set(users.member_sids) == {"S-1-5-4", "S-1-5-11", f"{DOM}-513"}
    result = finding(run("path.runas-read-write", hosts), EXPORT, "CONTOSO\\svc-runas")
    assert result.status is Status.PASS, result.message


def test_link_local_and_apipa_addresses_are_never_compared_across_machines() -> None:
    # Windows reports fe80:: and 169.254.x.y addresses beside the real ones; two machines can carry the same
    same = ["169.254.10.10", "fe80::1"]
    server = file_server("FS01.contoso.com", "ASRExport", ip_addresses=["10.0.0.50", *same])
    sims = {"fs01.contoso.com": server, "fs11.contoso.com": file_server("FS11.contoso.com", "ASRImport"),
            "hv01.contoso.com": SimulatedHost("HV01.contoso.com", hyperv_installed=True, ip_addresses=["10.0.0.1", *same])}
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5)
    requests = [HostRequest("fs01.contoso.com", paths=[parse_path(EXPORT)]),
                HostRequest("fs11.contoso.com", paths=[parse_path(IMPORT)]), HostRequest("hv01.contoso.com", hyperv=True)]
    with WinRMEndpoint(sims, password=PASSWORD) as ep:
        hosts = collect_hosts(config, requests, PASSWORD, session_factory=ep.protocol_factory(5))
    assert any(a.startswith("fe80::") for a in hosts["fs11.contoso.com"].ip_addresses)  # the simulator's default
    assert finding(run("path.not-on-hyperv-host", hosts), EXPORT).status is Status.PASS


# --------------------------------------------------------------------------- item 11: the firewall as Windows has it


def test_firewall_rules_as_windows_returns_them_are_judged_per_profile() -> None:
    from offlineprep.lab.windows import SimNetwork, SimProfile, SimRule

    replica = {"enabled": True, "kerberos_port": 8083, "certificate_port": 8084, "allowed_authentication": "Certificate"}
    hv11 = SimulatedHost("HV11.contoso.com", hyperv_installed=True, replication=replica,
                         firewall=[SimRule("ASR-8084", ["8084"], profile="Public"),
                                   SimRule("NotConfigured-any", ["Any"], action="NotConfigured"),
                                   SimRule("RPC-dynamic", ["RPC"], protocol="TCP")],
                         networks=[SimNetwork("Ethernet", "DomainAuthenticated")])
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5)
    with WinRMEndpoint({"hv11.contoso.com": hv11}, password=PASSWORD) as ep:
        hosts = collect_hosts(config, [HostRequest("hv11.contoso.com", hyperv=True)], PASSWORD,
                              session_factory=ep.protocol_factory(5))
    rules = {r.name: r for r in hosts["hv11.contoso.com"].firewall_rules or []}
    assert rules["ASR-8084"].profiles == ["Public"] and rules["NotConfigured-any"].action == "notconfigured"
    found = finding(run("policy.replication-port", hosts), "hv11.contoso.com")
    assert found.status is Status.WARN and "Domain profile (network Ethernet)" in found.message
    # the firewall turned off for the Domain profile lets the port in
    hv11.firewall_profiles = [SimProfile("Domain", enabled="False"), SimProfile("Private"), SimProfile("Public")]
    with WinRMEndpoint({"hv11.contoso.com": hv11}, password=PASSWORD) as ep:
        hosts = collect_hosts(config, [HostRequest("hv11.contoso.com", hyperv=True)], PASSWORD,
                              session_factory=ep.protocol_factory(5))
    found = finding(run("policy.replication-port", hosts), "hv11.contoso.com")
    assert found.status is Status.PASS and "the firewall is off for the Domain profile" in found.message
