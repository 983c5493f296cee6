"""Every ad.* status rule of SPEC §2, each broken on purpose in an otherwise healthy site."""

from __future__ import annotations

import pwsh_syntax
from builders import DOM, by_subject, directory, facts, run, site, statuses

from offlineprep.actions.types import AddDelegationValues, MoveSpn
from offlineprep.facts import CollectionError, ErrorKind, Principal, SpnHolder

FS01, FS11 = "fs01.contoso.com", "fs11.contoso.com"


def with_computer(name: str, **changes: object):  # type: ignore[no-untyped-def]
    d = directory()
    d.computers[name] = d.computers[name].model_copy(update=changes)
    return facts(d)


def delegation(name: str, target: str, **changes: object) -> tuple[str, str]:
    finding = by_subject(run("ad.delegation", the_facts=with_computer(name, **changes)), name, target)
    return finding.status.value, finding.message


# ----------------------------------------------------------------- ad.delegation


def test_healthy_delegation_passes_for_every_pair() -> None:
    found = statuses(run("ad.delegation"))
    assert found == {
        ("hv01.contoso.com->fs01.contoso.com", "pass"), ("hv01.contoso.com->fs11.contoso.com", "pass"),
        ("hv02->fs01.contoso.com", "pass"), ("hv02->fs11.contoso.com", "pass"),
        ("hv11.contoso.com->fs11.contoso.com", "pass"),
    }


def test_missing_cifs_entry_fails_for_a_source_host_and_warns_for_a_target_host() -> None:
    status, message = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=["cifs/fs11.contoso.com"])
    assert status == "fail" and "cifs/fs01.contoso.com" in message
    status, _ = delegation("hv11.contoso.com", FS11, allowed_to_delegate_to=[])
    assert status == "warn"


def test_kerberos_only_constrained_delegation_fails() -> None:
    status, message = delegation("hv01.contoso.com", FS01, user_account_control=0x1000)
    assert status == "fail" and "Kerberos only" in message
    finding = by_subject(run("ad.delegation", the_facts=with_computer("hv01.contoso.com", user_account_control=0x1000)),
                         "hv01.contoso.com", FS01)
    assert finding.remediation is not None
    assert "-TrustedToAuthForDelegation $true" in finding.remediation.powershell
    assert "klist purge -li 0x3e7" in finding.remediation.powershell
    assert finding.remediation.revert and "$false" in finding.remediation.revert
    assert "TRUSTED_TO_AUTH_FOR_DELEGATION" not in finding.evidence["userAccountControl_flags"]


def test_unconstrained_in_place_of_constrained_fails() -> None:
    status, message = delegation("hv01.contoso.com", FS01, user_account_control=0x1000 | 0x80000,
                                 allowed_to_delegate_to=[])
    assert status == "fail" and "unconstrained" in message


def test_path_addressed_by_ip_fails() -> None:
    s = site(source__export_path=r"\\10.0.0.50\ASRExport")
    finding = by_subject(run("ad.delegation", s), "hv01.contoso.com", "10.0.0.50")
    assert finding.status.value == "fail" and "IP address" in finding.message


def test_only_one_name_form_present_warns() -> None:
    status, message = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=["CIFS/FS01.CONTOSO.COM/contoso",
                                                                                   "cifs/fs11.contoso.com", "cifs/FS11"])
    assert status == "warn" and "cifs/fs01" in message.lower()


def test_only_the_other_name_form_fails() -> None:
    status, message = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=["cifs/FS01"])
    assert status == "fail" and "different names" in message


def test_host_spn_in_place_of_cifs_warns() -> None:
    status, message = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=["HOST/fs01.contoso.com", "HOST/fs01"])
    assert status == "warn" and "HOST/" in message


def test_resource_based_delegation_in_place_of_classic_warns() -> None:
    d = directory()
    d.computers["hv01.contoso.com"] = d.computers["hv01.contoso.com"].model_copy(update={"allowed_to_delegate_to": []})
    d.computers[FS01] = d.computers[FS01].model_copy(update={"rbcd_allowed_sids": [f"{DOM}-2001"]})
    finding = by_subject(run("ad.delegation", the_facts=facts(d)), "hv01.contoso.com", FS01)
    assert finding.status.value == "warn" and "resource-based" in finding.message


def test_admin_share_warns() -> None:
    s = site(source__export_path=r"\\fs01.contoso.com\C$\Export")
    finding = by_subject(run("ad.delegation", s), "hv01.contoso.com", FS01)
    assert finding.status.value == "warn" and "administrative share" in finding.message


def test_short_site_name_matches_fqdn_entries() -> None:
    s = site(source__export_path=r"\\fs01\ASRExport")
    finding = by_subject(run("ad.delegation", s), "hv01.contoso.com", "fs01")
    assert finding.status.value == "pass"


def test_directory_error_makes_error_findings_naming_the_cause() -> None:
    d = directory().model_copy(update={"computers": {}, "error": CollectionError(kind=ErrorKind.TLS,
                                                                                    message="certificate verify failed")})
    found = run("ad.delegation", the_facts=facts(d))
    assert {f.status.value for f in found} == {"error"}
    assert all("certificate verify failed" in f.message for f in found)


# ----------------------------------------------------------------- ad.host-account


def test_host_account_missing_and_disabled_fail() -> None:
    d = directory()
    d.computers["hv02"] = d.computers["hv02"].model_copy(update={"found": False})
    d.computers["hv11.contoso.com"] = d.computers["hv11.contoso.com"].model_copy(update={"user_account_control": 0x1002})
    assert statuses(run("ad.host-account", the_facts=facts(d))) == {
        ("hv01.contoso.com", "pass"), ("hv02", "fail"), ("hv11.contoso.com", "fail")}


# ----------------------------------------------------------------- ad.delegation-target


def test_delegation_target_none_one_two_holders() -> None:
    d = directory()
    d.spn_holders[FS01] = []
    d.spn_holders[FS11] = d.spn_holders[FS11] + [SpnHolder(spn="cifs/fs11.contoso.com",
                                                           distinguished_name="CN=OLD-FS,DC=contoso,DC=com")]
    assert statuses(run("ad.delegation-target", the_facts=facts(d))) == {(FS01, "fail"), (FS11, "fail")}
    dup = by_subject(run("ad.delegation-target", the_facts=facts(d)), FS11)
    assert "2 accounts" in dup.message
    assert statuses(run("ad.delegation-target")) == {(FS01, "pass"), (FS11, "pass")}


def test_delegation_target_ip_fails() -> None:
    s = site(source__export_path=r"\\10.0.0.50\ASRExport")
    assert ("10.0.0.50", "fail") in statuses(run("ad.delegation-target", s))


# ----------------------------------------------------------------- ad.account-delegable


def test_sensitive_account_and_protected_users_fail() -> None:
    d = directory()
    vmm = d.principals["CONTOSO\\svc-vmm"]
    d.principals["CONTOSO\\svc-vmm"] = vmm.model_copy(update={"user_account_control": 0x200 | 0x100000})
    runas = d.principals["CONTOSO\\svc-runas"]
    d.principals["CONTOSO\\svc-runas"] = runas.model_copy(update={"token_group_sids": [f"{DOM}-525"]})
    found = run("ad.account-delegable", the_facts=facts(d))
    assert statuses(found) == {("CONTOSO\\svc-vmm", "fail"), ("CONTOSO\\svc-runas", "fail")}
    assert "sensitive" in by_subject(found, "CONTOSO\\svc-vmm").message
    assert "Protected Users" in by_subject(found, "CONTOSO\\svc-runas").message


def _foreign_runas():  # type: ignore[no-untyped-def]
    """A Run As account of another domain (FABRIKAM) next to a same-named one of CONTOSO, the domain read."""
    the_site = site(accounts={"vmm_service": "CONTOSO\\svc-vmm", "run_as": ["FABRIKAM\\svc-runas"]})
    d = directory().model_copy(update={"netbios_name": "CONTOSO"})
    d.principals.pop("CONTOSO\\svc-runas")
    d.principals["FABRIKAM\\svc-runas"] = Principal(query="FABRIKAM\\svc-runas", found=False, other_domain="FABRIKAM")
    return the_site, facts(d)


def test_account_of_another_domain_is_an_error_naming_it_not_a_verdict() -> None:
    the_site, the_facts = _foreign_runas()
    found = run("ad.account-delegable", the_site, the_facts)
    assert statuses(found) == {("CONTOSO\\svc-vmm", "pass"), ("FABRIKAM\\svc-runas", "error")}
    message = by_subject(found, "FABRIKAM\\svc-runas").message
    assert "FABRIKAM\\svc-runas" in message and "domain FABRIKAM" in message
    assert "[directory]" in message and "domain controller of FABRIKAM" in message
    assert "CONTOSO (contoso.com)" in message


def test_local_system_as_vmm_service_asks_for_the_computer_account() -> None:
    the_site = site(accounts={"vmm_service": "NT AUTHORITY\\SYSTEM", "run_as": ["CONTOSO\\svc-runas"]})
    d = directory().model_copy(update={"netbios_name": "CONTOSO"})
    d.principals["NT AUTHORITY\\SYSTEM"] = Principal(query="NT AUTHORITY\\SYSTEM", found=False,
                                                      other_domain="NT AUTHORITY")
    found = run("ad.account-delegable", the_site, facts(d))
    assert by_subject(found, "NT AUTHORITY\\SYSTEM").status.value == "error"
    message = by_subject(found, "NT AUTHORITY\\SYSTEM").message
    assert "computer account" in message and "domain controller of" not in message


def test_account_not_found_fails() -> None:
    d = directory()
    d.principals["CONTOSO\\svc-runas"] = d.principals["CONTOSO\\svc-runas"].model_copy(update={"found": False})
    assert ("CONTOSO\\svc-runas", "fail") in statuses(run("ad.account-delegable", the_facts=facts(d)))


# ----------------------------------------------------------------- real-world cases beyond the SPEC table


def test_duplicate_spn_fix_never_removes_the_name_from_the_file_server_itself() -> None:
    d = directory()
    d.spn_holders[FS11] = d.spn_holders[FS11] + [SpnHolder(spn="HOST/fs11.contoso.com",
                                                           distinguished_name="CN=OLD-FS,DC=contoso,DC=com",
                                                           sam_account_name="OLD-FS$")]
    finding = by_subject(run("ad.delegation-target", the_facts=facts(d)), FS11)
    assert finding.status.value == "fail"
    assert finding.remediation is not None
    [move] = finding.remediation.actions
    assert isinstance(move, MoveSpn) and move.add_to is None  # FS11 holds it already: nothing to register
    assert [(h.distinguished_name, h.spn) for h in move.remove_from] == [("CN=OLD-FS,DC=contoso,DC=com",
                                                                          "HOST/fs11.contoso.com")]


def test_duplicate_spn_fix_is_only_comments_when_the_file_server_account_is_unknown() -> None:
    d = directory()
    del d.computers[FS11]
    d.spn_holders[FS11] = [SpnHolder(spn="HOST/fs11.contoso.com", distinguished_name="CN=A,DC=contoso,DC=com",
                                     sam_account_name="A$"),
                           SpnHolder(spn="HOST/fs11.contoso.com", distinguished_name="CN=B,DC=contoso,DC=com",
                                     sam_account_name="B$")]
    finding = by_subject(run("ad.delegation-target", the_facts=facts(d)), FS11)
    assert finding.status.value == "fail" and finding.remediation is not None
    assert [a.kind for a in finding.remediation.actions] == ["manual"]  # a reminder naming the holders, no command
    assert finding.remediation.powershell.startswith("Write-Warning '") and "\n" not in finding.remediation.powershell


def test_delegation_fix_adds_only_the_missing_values() -> None:
    """Set-ADComputer -Add with a value already present fails ("The specified value already exists")."""
    finding = by_subject(run("ad.delegation", the_facts=with_computer(
        "hv01.contoso.com", allowed_to_delegate_to=["cifs/FS01", "cifs/fs11.contoso.com", "cifs/FS11"])),
        "hv01.contoso.com", FS01)
    assert finding.status.value == "fail" and finding.remediation is not None
    add = finding.remediation.actions[0]
    assert isinstance(add, AddDelegationValues) and add.computer == "HV01"
    assert add.values == ["cifs/fs01.contoso.com"]
    assert add.before == ["cifs/FS01", "cifs/fs11.contoso.com", "cifs/FS11"]
    assert "cifs/FS01" not in (finding.remediation.revert or "")


def test_unconstrained_fix_does_not_re_add_existing_entries() -> None:
    finding = by_subject(run("ad.delegation", the_facts=with_computer(
        "hv01.contoso.com", user_account_control=0x1000 | 0x80000)), "hv01.contoso.com", FS01)
    assert finding.status.value == "fail" and finding.remediation is not None
    assert "-Add" not in finding.remediation.powershell
    assert "-TrustedForDelegation $false" in finding.remediation.powershell


def test_trailing_dot_fqdn_path_is_the_same_name() -> None:
    s = site(source__export_path="\\\\fs01.contoso.com.\\ASRExport")
    d = directory()
    d.computers["fs01.contoso.com."] = d.computers[FS01]
    d.spn_holders["fs01.contoso.com."] = d.spn_holders[FS01]
    finding = by_subject(run("ad.delegation", s, facts(d)), "hv01.contoso.com", "fs01.contoso.com.")
    assert finding.status.value == "pass", finding.message
    broken = with_computer("hv01.contoso.com", allowed_to_delegate_to=[])
    broken.directory.computers["fs01.contoso.com."] = broken.directory.computers[FS01]  # type: ignore[union-attr]
    finding = by_subject(run("ad.delegation", s, broken), "hv01.contoso.com", "fs01.contoso.com.")
    assert finding.status.value == "fail" and finding.remediation is not None
    assert "'cifs/fs01.contoso.com'" in finding.remediation.powershell
    assert "contoso.com.'" not in finding.remediation.powershell


def test_protected_users_of_another_domain_is_not_this_accounts_protected_users() -> None:
    d = directory()
    runas = d.principals["CONTOSO\\svc-runas"]
    d.principals["CONTOSO\\svc-runas"] = runas.model_copy(
        update={"token_group_sids": [f"{DOM}-513", "S-1-5-21-900-901-902-525"]})
    assert ("CONTOSO\\svc-runas", "pass") in statuses(run("ad.account-delegable", the_facts=facts(d)))


def test_host_in_a_domain_that_was_not_searched_is_an_error_not_a_failure() -> None:
    s = site(target__hosts=["hv11.fabrikam.contoso.com"])
    d = directory()
    d.computers["hv11.fabrikam.contoso.com"] = d.computers["hv11.contoso.com"].model_copy(
        update={"found": False, "query": "hv11.fabrikam.contoso.com"})
    finding = by_subject(run("ad.host-account", s, facts(d)), "hv11.fabrikam.contoso.com")
    assert finding.status.value == "error" and "fabrikam.contoso.com" in finding.message
    d.computers["hv02"] = d.computers["hv02"].model_copy(update={"found": False})
    assert by_subject(run("ad.host-account", s, facts(d)), "hv02").status.value == "fail"


def test_a_cifs_entry_with_a_port_is_not_the_spn_smb_asks_for() -> None:
    """The KDC compares the whole SPN; SMB asks for cifs/<name> without a port (S4U2Proxy would fail)."""
    status, message = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=[
        "cifs/fs01.contoso.com:445", "cifs/FS01:445", "cifs/fs11.contoso.com", "cifs/FS11"])
    assert status == "fail" and "cifs/fs01.contoso.com:445" in message and "port" in message
    status, _ = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=[
        "cifs/fs01.contoso.com:445", "cifs/fs01.contoso.com", "cifs/FS01", "cifs/fs11.contoso.com", "cifs/FS11"])
    assert status == "pass"


def test_host_written_as_an_ip_address_is_an_error_naming_the_fix() -> None:
    s = site(source__hosts=["10.0.0.1"])
    d = directory()
    d.computers["10.0.0.1"] = d.computers["hv02"].model_copy(update={"found": False, "query": "10.0.0.1"})
    finding = by_subject(run("ad.host-account", s, facts(d)), "10.0.0.1")
    assert finding.status.value == "error" and "DNS name" in finding.message


def test_protected_users_fix_names_the_group_by_sid() -> None:
    """The group's name is localised ("Geschützte Benutzer"); its SID is not."""
    d = directory()
    runas = d.principals["CONTOSO\\svc-runas"]
    d.principals["CONTOSO\\svc-runas"] = runas.model_copy(update={"token_group_sids": [f"{DOM}-525"],
                                                                  "object_sid": f"{DOM}-1102"})
    finding = by_subject(run("ad.account-delegable", the_facts=facts(d)), "CONTOSO\\svc-runas")
    assert finding.remediation is not None
    assert f"Remove-ADGroupMember -Identity '{DOM}-525' -Members 'svc-runas'" in finding.remediation.powershell


def test_spn_values_from_ad_cannot_escape_a_comment_of_the_fix() -> None:
    d = directory()
    del d.computers[FS11]
    hostile = "HOST/fs11.contoso.com\nRemove-Item C:\\ -Recurse"
    d.spn_holders[FS11] = [SpnHolder(spn=hostile, distinguished_name="CN=A,DC=contoso,DC=com"),
                           SpnHolder(spn="HOST/fs11.contoso.com", distinguished_name="CN=B,DC=contoso,DC=com")]
    finding = by_subject(run("ad.delegation-target", the_facts=facts(d)), FS11)
    assert finding.remediation is not None
    pwsh_syntax.assert_values_in_literals(finding.remediation.powershell, ["Remove-Item C:\\ -Recurse"])


def test_export_and_import_on_one_server_written_with_and_without_the_root_dot_are_one_pair() -> None:
    s = site(target__import_path="\\\\fs01.contoso.com.\\ASRImport")
    found = run("ad.delegation", s)
    assert [f.target for f in found if f.subject == "hv01.contoso.com"] == [FS01]
    assert len(run("ad.delegation-target", s)) == 1
