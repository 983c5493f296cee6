"""Every path.* and host.* status rule of SPEC §2."""

from __future__ import annotations

from builders import ADMINS_GROUP, DOM, RUNAS_SID, VMM_SID, by_subject, directory, facts, hosts, run, site, statuses

from offlineprep.facts import CollectionError, ErrorKind, HostFacts, Principal

EXPORT, IMPORT = r"\\fs01.contoso.com\ASRExport", r"\\fs11.contoso.com\ASRImport"
VMM, RUNAS = "CONTOSO\\svc-vmm", "CONTOSO\\svc-runas"


def with_path(server: str, **changes: object):  # type: ignore[no-untyped-def]
    h = hosts()
    path = h[server].paths[0].model_copy(update=changes)
    h[server] = h[server].model_copy(update={"paths": [path]})
    return facts(host_facts=h)


def status_of(check: str, subject: str, the_facts=None, the_site=None) -> str:  # type: ignore[no-untyped-def]
    return by_subject(run(check, the_site, the_facts), subject).status.value


def test_path_exists_rules() -> None:
    assert status_of("path.exists", EXPORT, with_path("fs01.contoso.com", exists=False)) == "fail"
    assert status_of("path.exists", EXPORT, with_path("fs01.contoso.com", is_directory=False)) == "fail"
    assert status_of("path.exists", EXPORT, with_path("fs01.contoso.com", share_found=False, share=None)) == "fail"
    assert status_of("path.exists", IMPORT) == "pass"


def test_unreachable_server_fails_host_reachable_and_errors_its_subjects_only() -> None:
    h = hosts()
    h["fs01.contoso.com"] = HostFacts(name="fs01.contoso.com", reachable=False,
                                      error=CollectionError(kind=ErrorKind.AUTH, message="HTTP 401: bad credentials"))
    f = facts(host_facts=h)
    assert ("fs01.contoso.com", "fail") in statuses(run("host.reachable", the_facts=f))
    for check in ("path.exists", "path.ntfs-full-control", "path.share-full-control", "path.free-space"):
        found = run(check, the_facts=f)
        assert by_subject(found, EXPORT).status.value == "error", check
        assert "401" in by_subject(found, EXPORT).message
        assert by_subject(found, IMPORT).status.value == "pass", check


def test_ntfs_full_control_needs_every_bit_including_change_permissions() -> None:
    modify = f"O:BAG:SYD:(A;OICI;0x1301bf;;;{VMM_SID})"
    found = run("path.ntfs-full-control", the_facts=with_path("fs01.contoso.com", ntfs_sddl=modify))
    finding = by_subject(found, EXPORT)
    assert finding.status.value == "fail" and finding.account == VMM
    assert "ChangePermissions" in finding.message
    assert finding.remediation is not None and "icacls" in finding.remediation.powershell
    assert by_subject(found, IMPORT).status.value == "pass"


def test_ntfs_full_control_through_a_nested_domain_group_and_a_deny() -> None:
    via_group = f"O:BAG:SYD:(A;OICI;FA;;;{ADMINS_GROUP})"
    assert status_of("path.ntfs-full-control", EXPORT, with_path("fs01.contoso.com", ntfs_sddl=via_group)) == "pass"
    denied = f"O:SYG:SYD:(D;;WD;;;{DOM}-513)(A;OICI;FA;;;{VMM_SID})"
    owned = f"O:BAG:SYD:(D;;WD;;;{DOM}-513)(A;OICI;FA;;;{VMM_SID})"  # owner (via the local alias) keeps WRITE_DAC
    assert status_of("path.ntfs-full-control", EXPORT, with_path("fs01.contoso.com", ntfs_sddl=owned)) == "pass"
    assert status_of("path.ntfs-full-control", EXPORT, with_path("fs01.contoso.com", ntfs_sddl=denied)) == "fail"
    via_local_alias = "O:BAG:SYD:(A;OICI;FA;;;BA)"  # the server's Administrators holds the HV-Admins group
    assert status_of("path.ntfs-full-control", EXPORT, with_path("fs01.contoso.com", ntfs_sddl=via_local_alias)) == "pass"


def test_unparseable_sddl_is_an_error_not_a_crash() -> None:
    assert status_of("path.ntfs-full-control", EXPORT, with_path("fs01.contoso.com", ntfs_sddl="O:BAG:SYD:(nonsense")) \
        == "error"


def test_share_full_control_change_is_not_enough_and_local_paths_skip() -> None:
    h = hosts()
    p = h["fs01.contoso.com"].paths[0]
    share = p.share.model_copy(update={"sddl": f"O:BAG:SYD:(A;;0x1301bf;;;{VMM_SID})"})  # type: ignore[union-attr]
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"paths": [p.model_copy(update={"share": share})]})
    found = run("path.share-full-control", the_facts=facts(host_facts=h))
    assert by_subject(found, EXPORT).status.value == "fail"
    assert "Grant-SmbShareAccess" in (by_subject(found, EXPORT).remediation.powershell)  # type: ignore[union-attr]
    local = site(source__export_path=r"D:\ASRExport", source__export_server="fs01.contoso.com")
    assert (r"D:\ASRExport as CONTOSO\svc-vmm", "skip") in statuses(run("path.share-full-control", local))


def test_share_host_group_direct_nested_and_missing() -> None:
    assert status_of("path.share-host-group", EXPORT) == "pass"  # via HV-Admins in Administrators
    h = hosts()
    groups = [g.model_copy(update={"member_sids": [f"{DOM}-512"]}) if g.sid == "S-1-5-32-544" else g
              for g in h["fs01.contoso.com"].local_groups]
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"local_groups": groups})
    found = run("path.share-host-group", the_facts=facts(host_facts=h))
    assert by_subject(found, EXPORT).status.value == "fail"
    fix = by_subject(found, EXPORT).remediation
    assert fix is not None and fix.revert is not None
    # ADSI, not Add-LocalGroupMember (absent on Windows Server 2012 R2 without WMF 5.1); the group by
    # its SID, the member by the SID read from AD
    assert ".Add(\"WinNT://$Member\")" in fix.powershell and "Add-LocalGroupMember" not in fix.powershell
    assert f"@('S-1-5-32-544', '{VMM_SID}')" in fix.powershell
    # idempotent without hiding a missing group, an unknown account or access denied
    assert "SilentlyContinue" not in fix.powershell
    assert "$e.ErrorCode -ne -2147023518) { throw }" in fix.powershell  # only ERROR_MEMBER_IN_ALIAS passes
    assert "$e.ErrorCode -ne -2147023519) { throw }" in fix.revert  # only ERROR_MEMBER_NOT_IN_ALIAS passes
    groups = [g.model_copy(update={"member_sids": [VMM_SID]}) if g.sid == "S-1-5-32-547" else g for g in groups]
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"local_groups": groups})
    assert status_of("path.share-host-group", EXPORT, facts(host_facts=h)) == "pass"  # Power Users, directly


def test_runas_read_write_share_intersects_ntfs() -> None:
    h = hosts()
    p = h["fs01.contoso.com"].paths[0]
    read_share = p.share.model_copy(update={"sddl": f"O:BAG:SYD:(A;;0x1200a9;;;{RUNAS_SID})(A;;FA;;;{VMM_SID})"})  # type: ignore[union-attr]
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"paths": [p.model_copy(update={"share": read_share})]})
    found = run("path.runas-read-write", the_facts=facts(host_facts=h))
    assert by_subject(found, EXPORT).status.value == "fail" and by_subject(found, EXPORT).account == RUNAS
    assert "the share" in by_subject(found, EXPORT).message
    read_only = f"O:BAG:SYD:(A;OICI;FR;;;{RUNAS_SID})"
    assert status_of("path.runas-read-write", EXPORT, with_path("fs01.contoso.com", ntfs_sddl=read_only)) == "fail"
    none = site(accounts={"vmm_service": VMM, "run_as": []})
    assert {s for _, s in statuses(run("path.runas-read-write", none))} == {"skip"}


def test_not_on_hyperv_host_by_role_by_name_by_alias_and_by_address() -> None:
    assert status_of("path.not-on-hyperv-host", EXPORT) == "pass"
    h = hosts()
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"hyperv_installed": True})
    assert status_of("path.not-on-hyperv-host", EXPORT, facts(host_facts=h)) == "fail"
    h = hosts()
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"computer_name": "HV02.contoso.com"})
    assert "DNS alias" in by_subject(run("path.not-on-hyperv-host", the_facts=facts(host_facts=h)), EXPORT).message
    h = hosts()
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"ip_addresses": ["10.0.0.2"]})
    assert status_of("path.not-on-hyperv-host", EXPORT, facts(host_facts=h)) == "fail"
    on_host = site(target__import_path=r"\\HV11\ASRImport")
    assert status_of("path.not-on-hyperv-host", r"\\HV11\ASRImport", the_site=on_host) == "fail"


def test_free_space_warns_and_skips_when_sizes_unknown() -> None:
    assert status_of("path.free-space", EXPORT, with_path("fs01.contoso.com", free_bytes=100 * 2**30)) == "warn"
    h = hosts()
    h["hv02"] = h["hv02"].model_copy(update={"vms": None})
    assert status_of("path.free-space", EXPORT, facts(host_facts=h)) == "skip"


def test_sddl_with_the_servers_own_domain_aliases_is_judged_not_an_error() -> None:
    # Get-Acl on a domain member writes its domain's SIDs as aliases: O:DAG:DU, (A;;FA;;;DA)
    ok = f"O:DAG:DUD:PAI(A;OICI;FA;;;DA)(A;OICI;FA;;;{VMM_SID})(A;OICI;0x1301bf;;;DU)"
    f = with_path("fs01.contoso.com", ntfs_sddl=ok)
    assert status_of("path.ntfs-full-control", EXPORT, f) == "pass"
    assert status_of("path.runas-read-write", EXPORT, f) == "pass"  # svc-runas is in Domain Users
    short = with_path("fs01.contoso.com", ntfs_sddl="O:DAG:DUD:PAI(A;OICI;FA;;;DA)(A;OICI;FR;;;DU)")
    assert status_of("path.ntfs-full-control", EXPORT, short) == "fail"
    h = hosts()
    p = h["fs01.contoso.com"].paths[0]
    share = p.share.model_copy(update={"sddl": "O:SYG:SYD:(A;;FA;;;DU)"})  # type: ignore[union-attr]
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"paths": [p.model_copy(update={"share": share})]})
    assert status_of("path.share-full-control", EXPORT, facts(host_facts=h)) == "pass"


def test_share_host_group_reports_every_path_also_when_both_are_on_one_server() -> None:
    both = site(target__import_path=r"\\fs01.contoso.com\ASRImport")
    h = hosts()
    fs = h["fs01.contoso.com"]
    second = fs.paths[0].model_copy(update={"path": r"\\fs01.contoso.com\ASRImport"})
    h["fs01.contoso.com"] = fs.model_copy(update={"paths": [fs.paths[0], second]})
    found = run("path.share-host-group", both, facts(host_facts=h))
    assert statuses(found) == {(f"{EXPORT} as {VMM}", "pass"), (rf"\\fs01.contoso.com\ASRImport as {VMM}", "pass")}


def _vmm_groups(groups: list[str]):  # type: ignore[no-untyped-def]
    d = directory()
    d.principals[VMM] = d.principals[VMM].model_copy(update={"token_group_sids": groups})
    return d


def test_builtin_sids_from_tokengroups_do_not_count_on_a_member_server() -> None:
    # svc-vmm put into AD's Builtin\Administrators: tokenGroups (read on a DC) lists S-1-5-32-544,
    # but on the member file server fs01 the account is not in the local Administrators group.
    d = _vmm_groups([f"{DOM}-513", "S-1-5-32-544"])
    only_admins = "O:BAG:SYD:PAI(A;OICI;FA;;;BA)"
    h = hosts()
    p = h["fs01.contoso.com"].paths[0].model_copy(update={"ntfs_sddl": only_admins})
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"paths": [p]})
    assert status_of("path.ntfs-full-control", EXPORT, facts(d, h)) == "fail"
    assert status_of("path.share-host-group", EXPORT, facts(d, h)) == "fail"


def test_share_on_a_domain_controller_uses_ads_builtin_groups() -> None:
    d = _vmm_groups([f"{DOM}-513", "S-1-5-32-549"])  # Server Operators, a DC-only group
    d.computers["fs01.contoso.com"] = d.computers["fs01.contoso.com"].model_copy(
        update={"user_account_control": 0x82000})
    h = hosts()
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"local_groups": []})
    assert status_of("path.share-host-group", EXPORT, facts(d, h)) == "pass"
    d = _vmm_groups([f"{DOM}-513"])
    d.computers["fs01.contoso.com"] = d.computers["fs01.contoso.com"].model_copy(
        update={"user_account_control": 0x82000})
    h = hosts()
    found = by_subject(run("path.share-host-group", the_facts=facts(d, h)), EXPORT)
    assert found.status.value == "fail" and found.remediation is not None
    assert "Add-ADGroupMember -Identity 'S-1-5-32-544' -Members" in found.remediation.powershell
    assert "Remove-ADGroupMember" in (found.remediation.revert or "")


def test_not_on_hyperv_host_by_ip_path_by_both_aliases_and_by_vmms() -> None:
    # the import path written by the address of hv11, whose WinRM (by IP) was not reachable
    by_ip = site(target__import_path=r"\\10.1.0.11\ASRImport")
    h = hosts()
    h["10.1.0.11"] = HostFacts(name="10.1.0.11", reachable=False,
                               error=CollectionError(kind=ErrorKind.UNREACHABLE, message="connection refused"))
    assert status_of("path.not-on-hyperv-host", r"\\10.1.0.11\ASRImport", facts(host_facts=h), by_ip) == "fail"
    # the site names hv02 by an alias; the share server's own name is hv02's own name
    h = hosts()
    h["hv02"] = h["hv02"].model_copy(update={"computer_name": "HVNODE7.contoso.com"})
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"computer_name": "HVNODE7.contoso.com"})
    assert status_of("path.not-on-hyperv-host", EXPORT, facts(host_facts=h)) == "fail"
    # role state unknown, but the Hyper-V management service runs
    h = hosts()
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"hyperv_installed": None, "vmms_running": True})
    assert status_of("path.not-on-hyperv-host", EXPORT, facts(host_facts=h)) == "fail"


def test_ntfs_fix_names_an_explicit_deny_that_a_grant_cannot_beat() -> None:
    denied = f"O:SYG:SYD:(D;;WD;;;{DOM}-513)(A;OICI;FA;;;{VMM_SID})"
    finding = by_subject(run("path.ntfs-full-control", the_facts=with_path("fs01.contoso.com", ntfs_sddl=denied)),
                         EXPORT)
    assert finding.status.value == "fail" and f"{DOM}-513" in finding.message
    assert finding.remediation is not None and "/remove:d" in finding.remediation.powershell
    inherited = f"O:SYG:SYD:(D;ID;WD;;;{DOM}-513)"  # an explicit allow (the fix) beats an inherited deny
    finding = by_subject(run("path.ntfs-full-control", the_facts=with_path("fs01.contoso.com", ntfs_sddl=inherited)),
                         EXPORT)
    assert finding.remediation is not None and "/remove:d" not in finding.remediation.powershell


def test_runas_fix_covers_both_layers_when_both_fall_short() -> None:
    h = hosts()
    p = h["fs01.contoso.com"].paths[0]
    share = p.share.model_copy(update={"sddl": f"O:BAG:SYD:(A;;0x1200a9;;;WD)(A;;FA;;;{VMM_SID})"})  # type: ignore[union-attr]
    path = p.model_copy(update={"share": share, "ntfs_sddl": f"O:BAG:SYD:(A;OICI;FR;;;{RUNAS_SID})"})
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"paths": [path]})
    finding = by_subject(run("path.runas-read-write", the_facts=facts(host_facts=h)), EXPORT)
    assert finding.status.value == "fail" and finding.remediation is not None
    assert "icacls" in finding.remediation.powershell and "Grant-SmbShareAccess" in finding.remediation.powershell


def test_accounts_of_another_domain_are_errors_in_every_permission_check() -> None:
    """FABRIKAM\\svc-vmm while the directory read is CONTOSO: no verdict from a same-named CONTOSO account."""
    d = directory().model_copy(update={"netbios_name": "CONTOSO"})
    d.principals = {name: Principal(query=name, found=False, other_domain="FABRIKAM")
                    for name in ("FABRIKAM\\svc-vmm", "FABRIKAM\\svc-runas")}
    the_site = site(accounts={"vmm_service": "FABRIKAM\\svc-vmm", "run_as": ["FABRIKAM\\svc-runas"]})
    the_facts = facts(d)
    for check, account in (("path.ntfs-full-control", "FABRIKAM\\svc-vmm"),
                           ("path.share-full-control", "FABRIKAM\\svc-vmm"),
                           ("path.share-host-group", "FABRIKAM\\svc-vmm"),
                           ("path.runas-read-write", "FABRIKAM\\svc-runas")):
        found = run(check, the_site, the_facts)
        for subject in (EXPORT, IMPORT):
            finding = by_subject(found, subject)
            assert finding.status.value == "error", (check, subject)
            assert account in finding.message and "domain controller of FABRIKAM" in finding.message, check


def test_share_full_control_names_the_share_permission_the_account_has() -> None:
    """Item 11.13: every mask used to be explained as "Change lacks 'change permissions'", Read and no
    access included. The message names the mask in share terms (domain-facts 2.4: Full 0x1F01FF,
    Change 0x1301BF, Read 0x1200A9) and what is missing from Full Control."""
    def message(share_sddl: str) -> str:
        h = hosts()
        p = h["fs01.contoso.com"].paths[0]
        share = p.share.model_copy(update={"sddl": share_sddl})  # type: ignore[union-attr]
        h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"paths": [p.model_copy(update={"share": share})]})
        finding = by_subject(run("path.share-full-control", the_facts=facts(host_facts=h)), EXPORT)
        assert finding.status.value == "fail"
        return finding.message

    read = message("O:SYG:SYD:(A;;0x1200a9;;;WD)")
    assert "has Read (0x1200A9) on share ASRExport" in read and "Change" not in read
    assert "write data" in read and "'change permissions' is missing" in read
    change = message(f"O:SYG:SYD:(A;;0x1301bf;;;{VMM_SID})")
    assert "has Change (0x1301BF)" in change and "'change permissions' is missing" in change
    assert "write data" not in change
    none = message(f"O:SYG:SYD:(A;;0x1200a9;;;{RUNAS_SID})")
    assert "has no access on share ASRExport" in none and "Change" not in none
    odd = message(f"O:SYG:SYD:(A;;0x120089;;;{VMM_SID})")
    assert "only read data, read extended attributes, read attributes, read permissions, synchronize (0x120089" in odd
    almost = message(f"O:SYG:SYD:(A;;0x1701ff;;;{VMM_SID})")
    assert "Change plus delete subfolders and files, change permissions" in almost and "take ownership missing" in almost


# ----------------------------------------------------------------- path.host-accounts

HOST_GROUP = f"{DOM}-1300"  # a domain group holding the Hyper-V hosts' computer accounts


def replica_site():  # type: ignore[no-untyped-def]
    return site(policy={"name": "Gold", "manager": "hyperv-replica", "authentication": "kerberos",
                        "copy_frequency": "5m", "recovery_point_retention_hours": 24,
                        "app_consistent_snapshot_frequency_hours": 4})


def with_host_principals(groups: list[str] | None = None, read: bool = True):  # type: ignore[no-untyped-def]
    """The directory as the collector leaves it under hyperv-replica: each host's computer account
    read as a principal too (its tokenGroups: Domain Computers and `groups`)."""
    d = directory()
    d.netbios_name = "CONTOSO"  # read from the domain's crossRef
    for name in ("hv01.contoso.com", "hv02", "hv11.contoso.com"):
        computer = d.computers[name]
        query = f"contoso.com\\{computer.sam_account_name}"
        d.principals[query] = Principal(query=query, found=True, sam_account_name=computer.sam_account_name,
                                        object_sid=computer.object_sid, user_account_control=computer.user_account_control,
                                        token_group_sids=[f"{DOM}-515", *(groups or [])] if read else [],
                                        token_groups_read=read, distinguished_name=computer.distinguished_name)
    return d


def test_host_accounts_are_not_judged_under_site_recovery() -> None:
    found = run("path.host-accounts")  # manager = "asr" (the default)
    assert statuses(found) == {(EXPORT, "skip"), (r"\\fs11.contoso.com\ASRImport", "skip")}
    assert "VMM service grants each host's computer account" in found[0].message


def test_each_hosts_computer_account_needs_read_and_write_through_share_and_ntfs() -> None:
    """The export runs as each source host's System account (DOMAIN\\HOST$ on the network), the import as
    each target host's: the healthy site grants only the VMM and Run As accounts, so every host fails."""
    the_site = replica_site()
    found = run("path.host-accounts", the_site, facts(with_host_principals()))
    assert statuses(found) == {(f"{EXPORT} as CONTOSO\\HV01$", "fail"), (f"{EXPORT} as CONTOSO\\HV02$", "fail"),
                               (r"\\fs11.contoso.com\ASRImport as CONTOSO\HV11$", "fail")}
    finding = next(f for f in found if f.account == "CONTOSO\\HV01$")
    assert "NTFS and the share" in finding.message and "System account" in finding.message
    assert finding.remediation is not None
    kinds = [a.kind for a in finding.remediation.actions]
    assert kinds == ["host.ntfs-rights", "host.share-rights"], kinds
    ntfs, share = finding.remediation.actions
    assert ntfs.account_sid == f"{DOM}-2001" and share.access_right == "Change"  # type: ignore[union-attr]
    assert f"{DOM}-515" in " ".join(finding.evidence["token"])  # Domain Computers, from tokenGroups
    # granted to a group the hosts are in, on both layers: every host passes
    h = hosts()
    for server in ("fs01.contoso.com", "fs11.contoso.com"):
        p = h[server].paths[0]
        share_sddl = p.share.sddl + f"(A;;0x1301bf;;;{HOST_GROUP})"  # type: ignore[union-attr]
        h[server] = h[server].model_copy(update={"paths": [p.model_copy(update={
            "ntfs_sddl": p.ntfs_sddl + f"(A;OICI;0x1301bf;;;{HOST_GROUP})",
            "share": p.share.model_copy(update={"sddl": share_sddl})})]})  # type: ignore[union-attr]
    found = run("path.host-accounts", the_site, facts(with_host_principals([HOST_GROUP]), h))
    assert {s for _, s in statuses(found)} == {"pass"}
    # the share alone falls short (read only): only the share fix
    p = h["fs01.contoso.com"].paths[0]
    read_only = p.share.sddl.replace(f"(A;;0x1301bf;;;{HOST_GROUP})", f"(A;;0x1200a9;;;{HOST_GROUP})")  # type: ignore[union-attr]
    h["fs01.contoso.com"] = h["fs01.contoso.com"].model_copy(update={"paths": [p.model_copy(update={
        "share": p.share.model_copy(update={"sddl": read_only})})]})  # type: ignore[union-attr]
    finding = by_subject(run("path.host-accounts", the_site, facts(with_host_principals([HOST_GROUP]), h)), EXPORT)
    assert finding.status.value == "fail" and "the share lacks" in finding.message
    assert finding.remediation is not None and [a.kind for a in finding.remediation.actions] == ["host.share-rights"]


def test_host_accounts_unread_are_errors_never_passes() -> None:
    the_site = replica_site()
    found = run("path.host-accounts", the_site, facts())  # no host principals read (facts of an asr run)
    assert {s for _, s in statuses(found)} == {"error"}
    assert "were not read" in found[0].message
    found = run("path.host-accounts", the_site, facts(with_host_principals(read=False)))
    assert {s for _, s in statuses(found)} == {"error"} and "tokenGroups" in found[0].message
