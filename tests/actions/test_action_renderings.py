"""Every action's PowerShell: valid, values only in literals, re-runnable, sent to the site's DC, and
runnable on Windows Server 2012 R2's PowerShell 4.0."""

from __future__ import annotations

import re

import pwsh_syntax
import pytest
from action_samples import SID, commands, every_action
from hypothesis import given, settings
from hypothesis import strategies as st

from offlineprep import remediation as r
from offlineprep.actions import powershell as ps
from offlineprep.actions import types as t

HOSTILE = [
    "CONTOSO\\x'; Remove-Item C:\\ -Recurse; '",
    "O\u2019Brien\u2018; Stop-Computer; \u201a\u201b",
    "$(Stop-Computer -Force)",
    "`$env:SECRET`n; x",
    "a;b | Out-File c:\\pwned",
    "line1\nline2\r\nRemove-Item x",
    "\u00d3scar \u00f1 \u201cquoted\u201d \u2028 next",
    "x\u202eexe.txt\x85y",
]
DC = "dc1.contoso.com"
AD_CMDLET = re.compile(r"^(Get|Set|Add|Remove|Enable|Disable)-AD", re.IGNORECASE)
# the LocalAccounts module (Add-LocalGroupMember …) ships with WMF 5.1: absent from 2012 R2 as installed
LOCAL_ACCOUNTS = re.compile(r"-Local(Group|GroupMember|User)\b", re.IGNORECASE)


def renderings(action: t.ActionBase) -> list[tuple[str, str]]:
    bound = action.bound_to_directory(DC)
    out = [("fix", "\n".join(ps.fix_lines(bound))), ("revert", "\n".join(ps.revert_lines(bound)))]
    return [(what, script) for what, script in out if script]  # not every action has a revert


@pytest.mark.parametrize("value", HOSTILE)
def test_every_action_and_its_revert_parse_with_values_only_in_literals(value: str) -> None:
    for action in every_action(value):
        for what, script in renderings(action):
            pwsh_syntax.assert_values_in_literals(script, [value], f"{action.kind} {what}")


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1).map(lambda s: "Zq" + s))  # a prefix no code of ours contains
def test_any_value_stays_a_literal_in_every_rendering(value: str) -> None:
    for action in every_action(value):
        for what, script in renderings(action):
            # up to the first character quote() spells as [char]0x…: the rest is checked by the cases above
            head = re.split(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\u202a-\u202e\u2066-\u2069"
                            r"\u200e\u200f\u061c]", value)[0]
            pwsh_syntax.assert_values_in_literals(script, [head], f"{action.kind} {what}")


def test_every_ad_line_names_the_sites_domain_controller() -> None:
    """Item 16: a fix written to one DC and checked on another would look undone for a replication
    cycle; every AD cmdlet gets -Server, the DC the pipeline bound (the site's [directory] host)."""
    seen = set()
    for action in every_action("svc"):
        for what, script in renderings(action):
            for name, text in commands(script):
                if AD_CMDLET.match(name):
                    seen.add(name)
                    assert f"-Server '{DC}'" in text, f"{action.kind} {what}: {text}"
    assert {"Get-ADComputer", "Set-ADComputer", "Set-ADAccountControl", "Enable-ADAccount", "Get-ADGroup",
            "Get-ADObject", "Set-ADObject", "Remove-ADGroupMember", "Add-ADGroupMember"} <= seen


def test_repadmin_names_the_domain_controller_and_a_missing_repadmin_is_only_a_warning() -> None:
    script = "\n".join(ps.fix_lines(t.RefreshTickets(owner=t.hyperv_host("hv01.contoso.com")).bound_to_directory(DC)))
    pwsh_syntax.assert_valid(script)
    assert f"repadmin /syncall '{DC}' /A /d /e /P" in script
    guard, otherwise, purge = script.splitlines()[1:]
    assert guard.startswith("if (Get-Command -Name 'repadmin.exe' -ErrorAction SilentlyContinue) { repadmin")
    assert otherwise.startswith("else { Write-Warning ")  # not a throw: the purge below still runs
    assert "klist purge -li '0x3e7'" in purge


def test_the_logon_session_reaches_klist_as_text_not_as_a_number() -> None:
    """Bare, 0x3e7 is a number literal in argument mode (about_Parsing): quoted, klist gets the text
    the logon id is written in. Failed before: the fix script passed it bare."""
    script = "\n".join(ps.fix_lines(t.RefreshTickets(owner=t.hyperv_host("hv01.contoso.com")).bound_to_directory(DC)))
    pwsh_syntax.assert_values_in_literals(script, ["0x3e7"])


@pytest.mark.parametrize("action", [a for a in every_action("x") if a.kind in {"host.create-share", "host.firewall-open"}],
                         ids=lambda a: a.kind)
def test_what_a_host_fix_creates_is_looked_for_first(action: t.ActionBase) -> None:
    """Item 16: New-SmbShare of an existing share and New-NetFirewallRule of an existing Name fail."""
    creator = {"host.create-share": "New-SmbShare", "host.firewall-open": "New-NetFirewallRule"}[action.kind]
    looker = creator.replace("New-", "Get-")
    fix = ps.fix_lines(action)
    line = next(i for i, text in enumerate(fix) if creator in text)
    # a firewall rule is looked for in the store it is created in (-PolicyStore PersistentStore)
    store = " -PolicyStore PersistentStore" if action.kind == "host.firewall-open" else ""
    if getattr(action, "scope", None):  # a share of a clustered file server role is looked for in its scope
        store = " -ScopeName $Scope"
    assert (f"if (-not ({looker} -Name $Name{store} -ErrorAction SilentlyContinue))"
            in "\n".join(fix[max(0, line - 1):line + 1]))
    revert = "\n".join(ps.revert_lines(action))
    assert f"if ({looker} -Name $Name{store} -ErrorAction SilentlyContinue)" in revert  # undoing twice is no error either


def test_a_single_list_argument_reaches_the_script_block_whole() -> None:
    """@(@('a', 'b')) flattens into two arguments: the rule names need the unary comma."""
    fix = "\n".join(ps.fix_lines(r.disable_firewall_rules("hv11", 8084, ["Block A", "Block B"])))
    assert "-ArgumentList (, @('Block A', 'Block B')) -ScriptBlock" in fix


def test_local_group_membership_uses_adsi_and_the_groups_sid() -> None:
    """Item 15: Windows Server 2012 R2 runs Windows PowerShell 4.0, which has no LocalAccounts module;
    ADSI (WinNT://) does it there. The group is found by SID (its name is localised), the member by
    the SID AD gave; only "already a member" / "not a member" pass, anything else stops."""
    fix = r.add_local_group_member("fs01", "S-1-5-32-544", "Administrators", "CONTOSO\\svc-vmm", member_sid=SID)
    assert fix.revert is not None
    for script, verb, code in ((fix.powershell, "Add", -2147023518), (fix.revert, "Remove", -2147023519)):
        pwsh_syntax.assert_valid(script)
        assert not LOCAL_ACCOUNTS.search(script)
        assert ".Translate([System.Security.Principal.NTAccount])" in script
        assert "[ADSI]\"WinNT://$env:COMPUTERNAME/$name,group\"" in script
        assert f"$group.{verb}(\"WinNT://$Member\")" in script
        assert f"$e.ErrorCode -ne {code}) {{ throw }}" in script
        assert f"@('S-1-5-32-544', '{SID}')" in script
    assert 0x80070562 - 2**32 == -2147023518 and 0x80070561 - 2**32 == -2147023519  # the HRESULTs, signed


def test_no_rendering_uses_a_cmdlet_powershell_4_lacks() -> None:
    for action in every_action("x"):
        for _, script in renderings(action):
            assert not LOCAL_ACCOUNTS.search(script)
            assert "-EnumsAsStrings" not in script and "Get-LocalGroup" not in script


def test_ntfs_and_share_reverts_restore_the_saved_entries_not_remove_all_access() -> None:
    """Item 17: /remove:g and Revoke-SmbShareAccess take away the access the account had before the
    fix too; the revert puts back the account's explicit entries as the facts saw them."""
    before = f"O:BAG:SYD:(A;OICI;0x1200a9;;;{SID})"
    for fix in (r.grant_ntfs("fs01", "D:\\Exp", "CONTOSO\\svc", "F", "Full Control", account_sid=SID, before_sddl=before),
                r.grant_share("fs01", "Exp", "CONTOSO\\svc", "Full", account_sid=SID, before_sddl=before)):
        assert fix.revert is not None
        assert "/remove" not in fix.revert and "Revoke-SmbShareAccess" not in fix.revert
        assert "function Restore-AccountAces" in fix.revert and f"'{before}'" in fix.revert
        assert fix.actions[0].before_aces == [f"(A;OICI;0x1200a9;;;{SID})"]  # type: ignore[union-attr]
    unknown = r.grant_ntfs("fs01", "D:\\Exp", "CONTOSO\\svc", "F", "Full Control")
    assert unknown.revert is not None and unknown.revert.startswith("Write-Warning ") and "/remove" not in unknown.revert


def test_account_flags_revert_to_what_was_read() -> None:
    """Replacing unconstrained delegation: the revert puts both flags back as they were, and a flag
    that was already set before the fix is not turned off by the revert."""
    unconstrained = t.SetProtocolTransition(account="HV01", before_uac=0x1000 | 0x80000, clear_unconstrained=True)
    revert = "\n".join(ps.revert_lines(unconstrained))
    assert "-TrustedForDelegation $true" in revert and "-TrustedToAuthForDelegation $false" in revert
    already = t.SetProtocolTransition(account="HV01", before_uac=0x1000 | 0x1000000 | 0x80000, clear_unconstrained=True)
    assert "-TrustedToAuthForDelegation $true" not in "\n".join(ps.fix_lines(already))
    assert "TrustedToAuthForDelegation" not in "\n".join(ps.revert_lines(already))
    assert "-TrustedForDelegation $true" in "\n".join(ps.revert_lines(already))
    assert ps.revert_lines(r.enable_account("HV01", computer=True, uac=0x1002)) == []  # never disabled again


def test_delegation_values_are_read_before_they_are_added_or_removed() -> None:
    """AD refuses -Add of a value already there and -Remove of one that is not: a second run must not stop."""
    fix = r.add_delegation("O'Brien", ["cifs/fs01.c.com", "cifs/FS01"], False, "hv01.c.com")
    assert "-Add @{'msDS-AllowedToDelegateTo' = @('cifs/fs01.c.com', 'cifs/FS01')}" not in fix.powershell
    assert "Where-Object { $current -notcontains $_ }" in fix.powershell
    assert fix.revert is not None and "Where-Object { $current -contains $_ }" in fix.revert
    assert "'O''Brien'" in fix.powershell


def test_an_spn_moves_off_the_wrong_holders_before_it_is_registered() -> None:
    holder = t.SpnHolderRef(distinguished_name="CN=OLD-FS,DC=c", spn="HOST/files.c", label="OLD-FS$")
    fix = ps.fix_lines(r.move_spn("HOST/files.c", add_to="FS01", remove_from=[holder], before=[holder]))
    assert [name for name, _ in commands("\n".join(fix)) if name.startswith("Set-AD")] == ["Set-ADObject", "Set-ADComputer"]
    assert "-Remove @{servicePrincipalName = 'HOST/files.c'}" in fix[0]
    assert "-ServicePrincipalNames @{Add = 'HOST/files.c'}" in fix[1]
    assert not any("setspn" in line for line in fix)  # setspn cannot name a domain controller


def test_resource_based_delegation_across_domains_reads_and_writes_the_file_server_in_its_own_domain() -> None:
    """The file server's account lives in its own domain (-Server takes a domain name); the hosts are
    read through the site's DC and passed as those objects; the list is extended, never replaced, and
    the revert takes out only these hosts."""
    action = t.AllowDelegationFrom(computer="FS11", computer_domain="fabrikam.com", principals=["HV01"],
                                   before=[SID]).bound_to_directory(DC)
    fix, revert = "\n".join(ps.fix_lines(action)), "\n".join(ps.revert_lines(action))
    for script in (fix, revert):
        for name, text in commands(script):
            if AD_CMDLET.match(name):
                where = "fabrikam.com" if "-Identity 'FS11'" in text else DC
                assert f"-Server '{where}'" in text, text
    assert "-PrincipalsAllowedToDelegateToAccount (@($allowed) + @($missing)) -Server 'fabrikam.com'" in fix
    assert "$remaining = @($allowed | Where-Object { $names -notcontains $_ })" in revert
    sets = [text for name, text in commands(revert) if name == "Set-ADComputer"]
    assert [s.split("-PrincipalsAllowedToDelegateToAccount ")[1] for s in sets] == [
        "$remaining -Server 'fabrikam.com'", "$null -Server 'fabrikam.com'"]
    # in the same domain, the site's DC for both, as before
    same = t.AllowDelegationFrom(computer="FS01", principals=["HV01"]).bound_to_directory(DC)
    assert all(f"-Server '{DC}'" in text for name, text in commands("\n".join(ps.fix_lines(same)))
               if AD_CMDLET.match(name))


def test_an_spn_registration_is_reverted_and_a_move_is_not() -> None:
    """Undoing a move would put the name back on the wrong holder (KRB_AP_ERR_MODIFIED) or take it off
    the serving machine's account: neither leaves the name working. A registration is undone."""
    holder = t.SpnHolderRef(distinguished_name="CN=OLD-FS,DC=c", spn="HOST/files.c", label="OLD-FS$")
    assert ps.revert_lines(r.move_spn("HOST/files.c", add_to="FS01", remove_from=[holder], before=[holder])) == []
    assert ps.revert_lines(r.move_spn("HOST/files.c", add_to=None, remove_from=[holder], before=[holder])) == []
    registered = "\n".join(ps.revert_lines(r.move_spn("HOST/files.c", add_to="FS01")))
    assert "-ServicePrincipalNames @{Remove = 'HOST/files.c'}" in registered
