"""Every ad.* status rule of SPEC §2, each broken on purpose in an otherwise healthy site."""

from __future__ import annotations

import re

import pwsh_syntax
import pytest
from builders import DOM, by_subject, directory, facts, hosts, run, site, statuses

from offlineprep.actions.types import AddDelegationValues, AllowDelegationFrom, MoveSpn, RefreshTickets
from offlineprep.facts import (
    CollectionError,
    ComputerAccount,
    DirectoryFacts,
    ErrorKind,
    Facts,
    HostFacts,
    Principal,
    SpnHolder,
    ToolStamp,
)
from offlineprep.remediation import allow_delegation_from, bind_directory
from offlineprep.site import Site

FS01, FS11 = "fs01.contoso.com", "fs11.contoso.com"
# names from AD or the site file that must stay data in the fix (quotes, typographic quotes,
# subexpressions, backticks, separators, newlines, non-ASCII)
HOSTILE = ["FS'; Remove-Item C:\\ -Recurse; '", "O\u2019Brien\u2018; Stop-Computer; \u2019", "$(Stop-Computer -Force)",
           "`$env:SECRET`n", "a;b", "x\nRemove-Item C:\\", "\u00d3scar \u00f1 \u201cquoted\u201d"]


def set_commands(script: str) -> list[tuple[str, str, str]]:
    """(cmdlet, -Identity, what) of every Set-AD* change in a rendered fix, in order; the script parses."""
    pwsh_syntax.assert_valid(script)
    found = re.findall(r"(Set-AD\w+) -Identity '((?:[^']|'')*)' (-Remove|-ServicePrincipalNames @\{(?:Add|Remove)|"
                       r"-PrincipalsAllowedToDelegateToAccount)", script)
    return [(cmdlet, identity.replace("''", "'"), what.replace("-ServicePrincipalNames ", ""))
            for cmdlet, identity, what in found]


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
    assert "klist purge -li '0x3e7'" in finding.remediation.powershell
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
    status, message = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=["CIFS/FS01.CONTOSO.COM",
                                                                                   "cifs/fs11.contoso.com", "cifs/FS11"])
    assert status == "warn" and "cifs/fs01" in message.lower()


def test_only_the_exact_two_part_cifs_spn_counts() -> None:
    """S4U2Proxy matches the SPN the SMB client asks for, cifs/<name>: a third part or a port is
    another SPN (measured on Samba's KDC). Both passed (or warned) before."""
    for entries in (["cifs/fs01.contoso.com/contoso.com", "cifs/FS01/CONTOSO"], ["cifs/fs01.contoso.com:445"],
                    ["cifs/fs01.contoso.com/contoso.com", "cifs/FS01"]):
        finding = by_subject(run("ad.delegation", the_facts=with_computer(
            "hv01.contoso.com", allowed_to_delegate_to=[*entries, "cifs/fs11.contoso.com", "cifs/FS11"])),
            "hv01.contoso.com", FS01)
        assert finding.status.value == "fail", entries
        assert entries[0] in finding.message and "exactly cifs/fs01.contoso.com" in finding.message
        assert entries[0] in finding.evidence["entries_that_do_not_match"]
        assert finding.remediation is not None
        add = finding.remediation.actions[0]  # the values the fix adds (as text: its first line, before)
        assert isinstance(add, AddDelegationValues)
        assert "cifs/fs01.contoso.com" in add.values and entries[0] not in add.values
        assert "'cifs/fs01.contoso.com'" in finding.remediation.powershell
    assert delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=[
        "CIFS/FS01.CONTOSO.COM", "cifs/fs01", "cifs/fs11.contoso.com", "cifs/FS11"])[0] == "pass"


def test_only_the_other_name_form_fails() -> None:
    status, message = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=["cifs/FS01"])
    assert status == "fail" and "different names" in message


def test_host_spn_in_place_of_cifs_fails() -> None:
    """A KDC refuses S4U2Proxy to cifs/<name> when only HOST/<name> is listed (measured on Samba's KDC;
    a warn before), so the fix adds cifs/<name> in both name forms."""
    status, message = delegation("hv01.contoso.com", FS01, allowed_to_delegate_to=["HOST/fs01.contoso.com", "HOST/fs01"])
    assert status == "fail" and "HOST/fs01.contoso.com only" in message and "refused" in message
    finding = by_subject(run("ad.delegation", the_facts=with_computer(
        "hv01.contoso.com", allowed_to_delegate_to=["HOST/fs01.contoso.com", "HOST/fs01"])), "hv01.contoso.com", FS01)
    assert finding.remediation is not None
    add = finding.remediation.actions[0]  # Set-ADComputer -Add of these values (as text before)
    assert isinstance(add, AddDelegationValues) and add.computer == "HV01"
    assert add.values == ["cifs/fs01.contoso.com", "cifs/fs01"]
    assert "@('cifs/fs01.contoso.com', 'cifs/fs01')" in finding.remediation.powershell
    status, message = delegation("hv01.contoso.com", FS01, user_account_control=0x1000,
                                 allowed_to_delegate_to=["HOST/fs01.contoso.com"])
    assert status == "fail" and "HOST/" in message and "'Use any authentication protocol'" in message


def test_unconstrained_besides_complete_constrained_delegation_warns() -> None:
    """The KDC issues the ticket (MS-SFU: S4U2Proxy checks the list; measured on Samba's KDC), so this
    is not a failure of replication; unconstrained delegation is still a risk to turn off."""
    finding = by_subject(run("ad.delegation", the_facts=with_computer(
        "hv01.contoso.com", user_account_control=0x1000 | 0x80000 | 0x1000000)), "hv01.contoso.com", FS01)
    assert finding.status.value == "warn" and "unconstrained" in finding.message
    assert finding.remediation is not None and "-TrustedForDelegation $false" in finding.remediation.powershell
    assert delegation("hv01.contoso.com", FS01, user_account_control=0x1000 | 0x80000)[0] == "fail"


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


def test_token_groups_not_returned_is_an_error_not_a_pass() -> None:
    """Without tokenGroups, Protected Users membership cannot be seen: unknown is never a pass."""
    d = directory()
    runas = d.principals["CONTOSO\\svc-runas"]
    d.principals["CONTOSO\\svc-runas"] = runas.model_copy(update={"token_group_sids": [], "token_groups_read": False})
    found = run("ad.account-delegable", the_facts=facts(d))
    assert statuses(found) == {("CONTOSO\\svc-vmm", "pass"), ("CONTOSO\\svc-runas", "error")}
    finding = by_subject(found, "CONTOSO\\svc-runas")
    assert "tokenGroups" in finding.message and "Protected Users" in finding.message
    assert finding.evidence["token_groups_read"] is False and finding.remediation is None
    # an account that fails anyway still fails, saying what could not be checked
    d.principals["CONTOSO\\svc-runas"] = d.principals["CONTOSO\\svc-runas"].model_copy(
        update={"user_account_control": 0x200 | 0x100000})
    finding = by_subject(run("ad.account-delegable", the_facts=facts(d)), "CONTOSO\\svc-runas")
    assert finding.status.value == "fail" and "Protected Users was not checked" in finding.message


def test_a_facts_file_without_token_groups_read_loads_and_never_turns_into_a_pass() -> None:
    """Facts written before token_groups_read existed: an empty tokenGroups list stays unknown."""
    import json

    from offlineprep.facts import Facts

    d = directory()
    runas = d.principals["CONTOSO\\svc-runas"]
    d.principals["CONTOSO\\svc-runas"] = runas.model_copy(update={"token_group_sids": []})
    data = json.loads(facts(d).to_json())
    for directory_read in data["directories"].values():  # facts/v2: one directory per domain
        for principal in directory_read["principals"].values():
            del principal["token_groups_read"]
    old = Facts.from_json(json.dumps(data))
    assert old.directory is not None
    assert old.directory.principals["CONTOSO\\svc-vmm"].token_groups_read is None
    assert statuses(run("ad.account-delegable", the_facts=old)) == {
        ("CONTOSO\\svc-vmm", "pass"), ("CONTOSO\\svc-runas", "error")}


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


def directory_only(d: DirectoryFacts) -> Facts:
    """Facts as `--only 'ad.*'` collects them: the directory, no host facts."""
    return Facts(tool=ToolStamp(version="t"), directory=d)


def test_duplicate_spn_fix_is_only_comments_when_the_file_server_account_is_unknown() -> None:
    d = directory()
    del d.computers[FS11]
    d.spn_holders[FS11] = [SpnHolder(spn="HOST/fs11.contoso.com", distinguished_name="CN=A,DC=contoso,DC=com",
                                     sam_account_name="A$"),
                           SpnHolder(spn="HOST/fs11.contoso.com", distinguished_name="CN=B,DC=contoso,DC=com",
                                     sam_account_name="B$")]
    finding = by_subject(run("ad.delegation-target", the_facts=directory_only(d)), FS11)
    assert finding.status.value == "fail" and finding.remediation is not None
    # without WinRM facts the account to keep them on is unknown: a reminder naming the holders, no command
    assert [a.kind for a in finding.remediation.actions] == ["manual"]
    assert finding.remediation.powershell.startswith("Write-Warning '") and "\n" not in finding.remediation.powershell
    # the serving machine, as it names itself over WinRM, is the account to keep them on: off A$ and B$
    # (Set-ADObject), onto FS11 (Set-ADComputer -ServicePrincipalNames), where setspn -D/-D/-S did it before
    finding = by_subject(run("ad.delegation-target", the_facts=facts(d)), FS11)
    assert finding.remediation is not None
    [move] = finding.remediation.actions
    assert isinstance(move, MoveSpn) and move.spn == "HOST/fs11.contoso.com" and move.add_to == "FS11"
    assert [h.label for h in move.remove_from] == ["A$", "B$"]
    assert set_commands(finding.remediation.powershell) == [
        ("Set-ADObject", "CN=A,DC=contoso,DC=com", "-Remove"), ("Set-ADObject", "CN=B,DC=contoso,DC=com", "-Remove"),
        ("Set-ADComputer", "FS11", "@{Add")]


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
    finding = by_subject(run("ad.delegation-target", the_facts=directory_only(d)), FS11)
    assert finding.remediation is not None
    assert [a.kind for a in finding.remediation.actions] == ["manual"]
    pwsh_syntax.assert_values_in_literals(finding.remediation.powershell, ["Remove-Item C:\\ -Recurse"])
    finding = by_subject(run("ad.delegation-target", the_facts=facts(d)), FS11)
    assert finding.remediation is not None
    pwsh_syntax.assert_values_in_literals(finding.remediation.powershell, [hostile], "the SPN fix")


def test_export_and_import_on_one_server_written_with_and_without_the_root_dot_are_one_pair() -> None:
    s = site(target__import_path="\\\\fs01.contoso.com.\\ASRImport")
    found = run("ad.delegation", s)
    assert [f.target for f in found if f.subject == "hv01.contoso.com"] == [FS01]
    assert len(run("ad.delegation-target", s)) == 1


# ----------------------------------------------------------------- across domains (issue 11 item 3)


def _fabrikam_import(**changes: object):  # type: ignore[no-untyped-def]
    """The import share on FS11 of fabrikam.com, while the directory read is contoso.com: the
    collector finds no account for fs11.fabrikam.com, and HV01 lists cifs/fs11.fabrikam.com."""
    the_site = site(target__import_path=r"\\fs11.fabrikam.com\ASRImport")
    d = directory()
    d.computers["fs11.fabrikam.com"] = ComputerAccount(query="fs11.fabrikam.com", found=False)
    both = ["cifs/fs01.contoso.com", "cifs/FS01", "cifs/fs11.fabrikam.com", "cifs/FS11"]
    for host in ("hv01.contoso.com", "hv02"):
        d.computers[host] = d.computers[host].model_copy(update={"allowed_to_delegate_to": both, **changes})
    d.computers["hv11.contoso.com"] = d.computers["hv11.contoso.com"].model_copy(
        update={"allowed_to_delegate_to": ["cifs/fs11.fabrikam.com", "cifs/FS11"]})
    h = hosts()
    h["fs11.fabrikam.com"] = h.pop(FS11).model_copy(update={"name": "fs11.fabrikam.com",
                                                            "computer_name": "FS11.fabrikam.com"})
    return the_site, d, h


def test_classic_delegation_to_a_file_server_of_another_domain_fails_with_resource_based_delegation_as_the_fix() -> None:
    """Classic constrained delegation does not cross domains (Microsoft: "Troubleshooting Kerberos
    constrained delegation issues", step 1). It passed before."""
    the_site, d, h = _fabrikam_import()
    found = run("ad.delegation", the_site, facts(d, h))
    assert statuses(found) == {
        ("hv01.contoso.com->fs01.contoso.com", "pass"), ("hv01.contoso.com->fs11.fabrikam.com", "fail"),
        ("hv02->fs01.contoso.com", "pass"), ("hv02->fs11.fabrikam.com", "fail"),
        ("hv11.contoso.com->fs11.fabrikam.com", "warn")}  # a target host: warn, as for every failure there
    finding = by_subject(found, "hv01.contoso.com", "fs11.fabrikam.com")
    assert "HV01 is in contoso.com and fs11.fabrikam.com is in fabrikam.com" in finding.message
    assert "does not cross domains" in finding.message and "cannot be seen" in finding.message
    assert finding.evidence["path_computer_domain"] == "fabrikam.com"
    assert finding.remediation is not None
    # the typed action (text before): resource-based delegation on FS11 in fabrikam.com allowing HV01,
    # then HV01's tickets purged; FS11's account was not read here, so no SIDs allowed are known
    rbcd, refresh = finding.remediation.actions
    assert isinstance(rbcd, AllowDelegationFrom) and isinstance(refresh, RefreshTickets)
    assert (rbcd.computer, rbcd.computer_domain, rbcd.principals, rbcd.before) == ("FS11", "fabrikam.com", ["HV01"], [])
    assert refresh.owner is not None and refresh.owner.name == "hv01.contoso.com"
    # as rendered once the pipeline has bound the site's DC: FS11 read and written in fabrikam.com,
    # HV01 read through the site's DC (contoso.com), the principals FS11 allows already kept
    fix = bind_directory(finding.remediation, "dc01.contoso.com").powershell
    assert "Get-ADComputer -Identity 'FS11' -Properties 'PrincipalsAllowedToDelegateToAccount' -Server 'fabrikam.com'" in fix
    assert "@('HV01') | ForEach-Object { Get-ADComputer -Identity $_ -Server 'dc01.contoso.com' }" in fix
    assert "-PrincipalsAllowedToDelegateToAccount (@($allowed) + @($missing)) -Server 'fabrikam.com'" in fix
    assert set_commands(fix) == [("Set-ADComputer", "FS11", "-PrincipalsAllowedToDelegateToAccount")]
    assert "msDS-AllowedToDelegateTo" not in fix  # the classic list cannot help across domains


def test_the_domain_comes_from_the_dns_suffix_without_winrm_facts() -> None:
    """`--only 'ad.*'` collects no host facts: the DNS suffix of the path's name still tells."""
    the_site, d, _ = _fabrikam_import()
    finding = by_subject(run("ad.delegation", the_site, Facts(tool=ToolStamp(version="t"), directory=d)),
                         "hv01.contoso.com", "fs11.fabrikam.com")
    assert finding.status.value == "fail" and "the DNS suffix" in finding.message


def _behind_files_alias(**server: object) -> tuple[Site, DirectoryFacts, dict[str, HostFacts]]:
    """\\\\files.contoso.com, a DNS alias with no account of its own, served by FS11 as `server`
    (its HostFacts fields) reports itself; both hosts list cifs/ of fs01 and of the alias."""
    the_site = site(target__import_path=r"\\files.contoso.com\ASRImport")
    d = directory()
    d.computers["files.contoso.com"] = ComputerAccount(query="files.contoso.com", found=False)
    for host in ("hv01.contoso.com", "hv02"):
        d.computers[host] = d.computers[host].model_copy(update={"allowed_to_delegate_to": [
            "cifs/fs01.contoso.com", "cifs/FS01", "cifs/files.contoso.com", "cifs/files"]})
    h = hosts()
    h["files.contoso.com"] = h.pop(FS11).model_copy(update={"name": "files.contoso.com", **server})
    return the_site, d, h


def test_the_domain_comes_from_the_file_server_itself_over_winrm_behind_an_alias() -> None:
    """\\\\files.contoso.com is an alias of FS11 of fabrikam.com: only the machine itself tells."""
    the_site, d, h = _behind_files_alias(computer_name="FS11.fabrikam.com")
    finding = by_subject(run("ad.delegation", the_site, facts(d, h)), "hv01.contoso.com", "files.contoso.com")
    assert finding.status.value == "fail"
    assert "as FS11.fabrikam.com reports itself over WinRM" in finding.message
    assert finding.remediation is not None
    rbcd = finding.remediation.actions[0]  # on FS11 in fabrikam.com (text before: -Identity 'FS11' -Server 'fabrikam.com')
    assert isinstance(rbcd, AllowDelegationFrom) and (rbcd.computer, rbcd.computer_domain) == ("FS11", "fabrikam.com")
    assert "-Identity 'FS11' -Properties 'PrincipalsAllowedToDelegateToAccount' -Server 'fabrikam.com'" in (
        finding.remediation.powershell)
    # without host facts the alias reads as a contoso.com name: judged as a same-domain path
    same = by_subject(run("ad.delegation", the_site, Facts(tool=ToolStamp(version="t"), directory=d)),
                      "hv01.contoso.com", "files.contoso.com")
    assert same.status.value == "pass" and same.evidence["path_computer_domain"] == "contoso.com"


def test_the_domain_the_file_server_reports_itself_joined_to_is_its_domain() -> None:
    """HostFacts.domain (Win32_ComputerSystem.Domain) is the domain itself, not read off a name: it
    tells even when the machine's own name carries no suffix."""
    the_site, d, h = _behind_files_alias(computer_name="FS11", domain="Fabrikam.com")
    finding = by_subject(run("ad.delegation", the_site, facts(d, h)), "hv01.contoso.com", "files.contoso.com")
    assert finding.status.value == "fail" and finding.evidence["path_computer_domain"] == "fabrikam.com"
    assert "as FS11 reports itself over WinRM" in finding.message
    # without the domain, a name without a suffix tells nothing: the alias is judged in the domain read
    h["files.contoso.com"] = h["files.contoso.com"].model_copy(update={"domain": None})
    same = by_subject(run("ad.delegation", the_site, facts(d, h)), "hv01.contoso.com", "files.contoso.com")
    assert same.status.value == "pass" and same.evidence["path_computer_domain"] == "contoso.com"


def test_resource_based_delegation_read_in_the_file_servers_own_domain_passes_across_domains() -> None:
    the_site, d, h = _fabrikam_import(allowed_to_delegate_to=["cifs/fs01.contoso.com", "cifs/FS01"])
    d.computers["fs11.fabrikam.com"] = ComputerAccount(
        query="fs11.fabrikam.com", found=True, distinguished_name="CN=FS11,CN=Computers,DC=fabrikam,DC=com",
        sam_account_name="FS11$", dns_host_name="fs11.fabrikam.com", object_sid="S-1-5-21-7-8-9-3011",
        user_account_control=0x1000, rbcd_allowed_sids=[f"{DOM}-2001"])
    found = run("ad.delegation", the_site, facts(d, h))
    assert by_subject(found, "hv01.contoso.com", "fs11.fabrikam.com").status.value == "pass"
    assert "resource-based" in by_subject(found, "hv01.contoso.com", "fs11.fabrikam.com").message
    fails = by_subject(found, "hv02", "fs11.fabrikam.com")  # FS11 does not allow HV02
    assert fails.status.value == "fail" and "cannot be seen" not in fails.message


def test_a_disjoint_dns_name_of_an_account_in_the_domain_read_is_the_same_domain() -> None:
    """dNSHostName fs01.corp.contoso.com on an account of contoso.com: its DN says where it lives."""
    the_site = site(source__export_path=r"\\fs01.corp.contoso.com\ASRExport")
    d = directory()
    d.computers["fs01.corp.contoso.com"] = d.computers[FS01].model_copy(
        update={"query": "fs01.corp.contoso.com", "dns_host_name": "fs01.corp.contoso.com"})
    for host in ("hv01.contoso.com", "hv02"):
        d.computers[host] = d.computers[host].model_copy(update={"allowed_to_delegate_to": [
            "cifs/fs01.corp.contoso.com", "cifs/FS01", "cifs/fs11.contoso.com", "cifs/FS11"]})
    h = hosts()
    h["fs01.corp.contoso.com"] = h.pop(FS01).model_copy(update={"computer_name": "FS01.contoso.com"})
    finding = by_subject(run("ad.delegation", the_site, facts(d, h)), "hv01.contoso.com", "fs01.corp.contoso.com")
    assert finding.status.value == "pass", finding.message


@pytest.mark.parametrize("value", HOSTILE)
def test_the_resource_based_delegation_fix_keeps_every_value_in_a_literal(value: str) -> None:
    fix = bind_directory(allow_delegation_from(value, [value], [value], computer_domain=value + ".example"), "dc01")
    for script in (fix.powershell, fix.revert or ""):
        pwsh_syntax.assert_values_in_literals(script, [value, value + ".example"], "the RBCD fix")
    # the revert removes only this host; the list is cleared ($null, where -Clear of the attribute was
    # written before) only when no other principal remains
    plain = allow_delegation_from("FS11", ["HV01"], ["hv01.contoso.com"], computer_domain="fabrikam.com")
    assert plain.revert is not None
    assert "$remaining = @($allowed | Where-Object { $names -notcontains $_ })" in plain.revert
    assert "-PrincipalsAllowedToDelegateToAccount $remaining -Server 'fabrikam.com'" in plain.revert
    assert "-PrincipalsAllowedToDelegateToAccount $null -Server 'fabrikam.com'" in plain.revert


# ----------------------------------------------------------------- the serving machine (issue 11 item 4)


def _alias(holder_sam: str, served_by: str | None):  # type: ignore[no-untyped-def]
    """\\\\files.contoso.com\\ASRImport; `holder_sam` holds HOST/files.contoso.com; `served_by` is the
    name the machine behind it reports over WinRM (None: no host facts, as with --only 'ad.*')."""
    the_site = site(target__import_path=r"\\files.contoso.com\ASRImport")
    d = directory()
    d.computers["files.contoso.com"] = ComputerAccount(
        query="files.contoso.com", found=True, distinguished_name="CN=FILES,CN=Computers,DC=contoso,DC=com",
        sam_account_name="FILES$", dns_host_name="files.contoso.com", object_sid=f"{DOM}-3999",
        user_account_control=0x1000)
    holder_dn = f"CN={holder_sam.rstrip('$')},CN=Computers,DC=contoso,DC=com"
    d.spn_holders["files.contoso.com"] = [
        SpnHolder(spn="HOST/files.contoso.com", distinguished_name=holder_dn, sam_account_name=holder_sam),
        SpnHolder(spn="HOST/FILES", distinguished_name=holder_dn, sam_account_name=holder_sam)]
    if served_by is None:
        return the_site, directory_only(d)
    h = hosts()
    h["files.contoso.com"] = h.pop(FS11).model_copy(update={"name": "files.contoso.com", "computer_name": served_by})
    return the_site, facts(d, h)


def test_a_retired_account_holding_the_alias_fails_naming_both_and_the_fix_moves_the_spn() -> None:
    """FILES$ (retired) still holds HOST/files.contoso.com while FS11 serves the share: tickets are
    encrypted with FILES$'s key (KRB_AP_ERR_MODIFIED). It passed before."""
    finding = by_subject(run("ad.delegation-target", *_alias("FILES$", "FS11.contoso.com")), "files.contoso.com")
    assert finding.status.value == "fail"
    assert "FILES$ holds" in finding.message and "FS11.contoso.com" in finding.message and "FS11$" in finding.message
    assert "KRB_AP_ERR_MODIFIED" in finding.message
    assert finding.remediation is not None and finding.remediation.revert is None  # a move is not undone
    # one ad.spn action per SPN (text before: setspn -D from FILES$, then setspn -S to FS11$)
    fs11, files = "CN=FS11,CN=Computers,DC=contoso,DC=com", "CN=FILES,CN=Computers,DC=contoso,DC=com"
    moves = finding.remediation.actions
    assert [(m.spn, m.add_to, [h.distinguished_name for h in m.remove_from])
            for m in moves if isinstance(m, MoveSpn)] == [
        ("HOST/FILES", fs11, [files]), ("HOST/files.contoso.com", fs11, [files])]
    assert len(moves) == 2
    assert set_commands(finding.remediation.powershell) == [
        ("Set-ADObject", files, "-Remove"), ("Set-ADComputer", fs11, "@{Add"),
        ("Set-ADObject", files, "-Remove"), ("Set-ADComputer", fs11, "@{Add")]
    assert "@{Add = 'HOST/FILES'}" in finding.remediation.powershell
    assert "@{Add = 'HOST/files.contoso.com'}" in finding.remediation.powershell


def test_the_spn_move_never_takes_the_spn_off_the_serving_machines_account() -> None:
    """Neither the fix nor the revert removes an SPN from FS11$, the account of the machine that
    serves the share, even when FS11$ holds one of the names already (a duplicate)."""
    fs11 = "CN=FS11,CN=Computers,DC=contoso,DC=com"
    the_site, moved = _alias("FILES$", "FS11.contoso.com")
    _, duplicate = _alias("FILES$", "FS11.contoso.com")
    assert duplicate.directory is not None
    duplicate.directory.spn_holders["files.contoso.com"].append(
        SpnHolder(spn="HOST/files.contoso.com", distinguished_name=fs11, sam_account_name="FS11$"))
    for the_facts in (moved, duplicate):
        finding = by_subject(run("ad.delegation-target", the_site, the_facts), "files.contoso.com")
        assert finding.status.value == "fail" and finding.remediation is not None
        for action in finding.remediation.actions:
            assert isinstance(action, MoveSpn)
            assert all(h.distinguished_name != fs11 for h in action.remove_from)
            assert [h.label for h in action.remove_from] and all(h.label == "FILES$" for h in action.remove_from)
        for script in (finding.remediation.powershell, finding.remediation.revert):
            if script:
                assert all(identity != fs11 or "Remove" not in what for _, identity, what in set_commands(script))


def test_the_serving_machines_own_account_holding_the_alias_passes() -> None:
    finding = by_subject(run("ad.delegation-target", *_alias("FS11$", "FS11.contoso.com")), "files.contoso.com")
    assert finding.status.value == "pass" and "FS11.contoso.com, the machine that serves the share" in finding.message


def test_without_winrm_facts_only_the_names_own_account_passes_and_says_it_was_not_confirmed() -> None:
    finding = by_subject(run("ad.delegation-target", *_alias("FILES$", None)), "files.contoso.com")
    assert finding.status.value == "pass"
    assert "not confirmed over WinRM" in finding.message and "--only 'ad.*'" in finding.message
    alias = by_subject(run("ad.delegation-target", *_alias("FS11$", None)), "files.contoso.com")
    assert alias.status.value == "warn" and "FS11$ holds" in alias.message and "FILES$" in alias.message
    # the machine was asked but did not answer: not confirmed either
    the_site, the_facts = _alias("FS11$", "FS11.contoso.com")
    assert the_facts.hosts is not None
    the_facts.hosts["files.contoso.com"] = the_facts.hosts["files.contoso.com"].model_copy(update={"reachable": False})
    alias = by_subject(run("ad.delegation-target", the_site, the_facts), "files.contoso.com")
    assert alias.status.value == "warn" and "did not report its name over WinRM" in alias.message


def test_a_path_computer_of_another_domain_is_an_error_and_never_a_setspn_against_a_same_named_account() -> None:
    """Before: fail with `setspn -S 'HOST/fs11.fabrikam.com' 'FS11$'`, run against contoso.com's FS11$."""
    the_site = site(target__import_path=r"\\fs11.fabrikam.com\ASRImport")
    d = directory()
    d.computers["fs11.fabrikam.com"] = ComputerAccount(query="fs11.fabrikam.com", found=False)
    d.spn_holders["fs11.fabrikam.com"] = []
    finding = by_subject(run("ad.delegation-target", the_site, directory_only(d)), "fs11.fabrikam.com")
    assert finding.status.value == "error" and finding.remediation is None
    assert "fabrikam.com" in finding.message and "[directory]" in finding.message
    # behind an alias of the domain read, the machine itself says it belongs to fabrikam.com
    finding = by_subject(run("ad.delegation-target", *_alias("FILES$", "FS11.fabrikam.com")), "files.contoso.com")
    assert finding.status.value == "error" and finding.remediation is None
    assert "CN=FILES,CN=Computers,DC=contoso,DC=com" in finding.message and "FS11.fabrikam.com" in finding.message


@pytest.mark.parametrize("value", HOSTILE)
def test_the_spn_move_keeps_every_value_in_a_literal(value: str) -> None:
    """The holder's name and DN come from AD: the move keeps them data."""
    finding = by_subject(run("ad.delegation-target", *_alias(value + "$", "FS11.contoso.com")), "files.contoso.com")
    assert finding.status.value == "fail" and finding.remediation is not None
    fix = bind_directory(finding.remediation, "dc01.contoso.com")
    assert [a.kind for a in fix.actions] == ["ad.spn", "ad.spn"]
    pwsh_syntax.assert_values_in_literals(fix.powershell, [value, f"CN={value},CN=Computers,DC=contoso,DC=com"],
                                          "the SPN move")


def test_the_new_fixes_parse_in_the_fix_script_and_revert_section() -> None:
    """The resource-based delegation fix and the SPN move, as the fix script writes them (guarded
    blocks, the ticket purge moved to the end, the revert section), parse as PowerShell."""
    from builders import CHECKS

    from offlineprep import pipeline
    from offlineprep.render import fixscript

    the_site, d, h = _fabrikam_import()
    alias_site, alias_facts = _alias("FILES$", "FS11.contoso.com")
    results = pipeline.build_results(the_site, [CHECKS["ad.delegation"]], facts(d, h), pipeline.RunOptions())
    results.findings.extend(pipeline.build_results(alias_site, [CHECKS["ad.delegation-target"]], alias_facts,
                                                   pipeline.RunOptions()).findings)
    script = fixscript.render(results)
    # typed actions, each in the AD section (text before: setspn -S 'HOST/files.contoso.com' 'FS11$'),
    # never the manual step a text-only fix becomes
    assert "-PrincipalsAllowedToDelegateToAccount (@($allowed) + @($missing)) -Server 'fabrikam.com'" in script
    assert "-ServicePrincipalNames @{Add = 'HOST/files.contoso.com'}" in script
    assert "offlineprep cannot tell where this" not in script
    pwsh_syntax.assert_valid(script, "the fix script")


def test_a_path_written_with_the_root_dot_still_finds_its_serving_machine() -> None:
    the_site = site(target__import_path="\\\\fs11.contoso.com.\\ASRImport")
    d = directory()
    d.computers["fs11.contoso.com."] = d.computers[FS11]
    d.spn_holders["fs11.contoso.com."] = d.spn_holders[FS11]
    h = hosts()
    h["fs11.contoso.com."] = h.pop(FS11)
    finding = by_subject(run("ad.delegation-target", the_site, facts(d, h)), "fs11.contoso.com.")
    assert finding.status.value == "pass" and "the machine that serves the share" in finding.message


def test_protected_users_blocks_delegation_only_from_functional_level_2012_r2() -> None:
    """Microsoft, "Protected Users security group": its DC-side protections (no delegation among them)
    need the domain functional level Windows Server 2012 R2 (msDS-Behavior-Version 6)."""
    d = directory()
    runas = d.principals["CONTOSO\\svc-runas"]
    d.principals["CONTOSO\\svc-runas"] = runas.model_copy(update={"token_group_sids": [f"{DOM}-513", f"{DOM}-525"]})
    verdicts = {}
    for level in (5, 6, 7, None):
        d.domain_functionality = level
        finding = by_subject(run("ad.account-delegable", the_facts=facts(d)), "CONTOSO\\svc-runas")
        verdicts[level] = finding.status.value
        assert finding.evidence["domain_functional_level"] == level
    assert verdicts == {5: "warn", 6: "fail", 7: "fail", None: "fail"}
    d.domain_functionality = 5
    finding = by_subject(run("ad.account-delegable", the_facts=facts(d)), "CONTOSO\\svc-runas")
    assert "Windows Server 2012 (5)" in finding.message and "raising the level" in finding.message
    assert finding.remediation is not None and "Protected Users" in finding.remediation.summary
    # below 2012 R2 an account that is sensitive still fails, for that reason
    d.principals["CONTOSO\\svc-runas"] = d.principals["CONTOSO\\svc-runas"].model_copy(
        update={"user_account_control": 0x200 | 0x100000})
    finding = by_subject(run("ad.account-delegable", the_facts=facts(d)), "CONTOSO\\svc-runas")
    assert finding.status.value == "fail" and "sensitive" in finding.message and "Protected" not in finding.message
