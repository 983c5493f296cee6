"""The fix script as a rendering of typed actions: sections per owner, -Section, a BOM, manual steps
in order, reverts in reverse, and a hostile site's whole script parsing with values only in literals."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import builders
import pwsh_syntax
import pytest

from offlineprep import remediation as r
from offlineprep.actions import types as t
from offlineprep.facts import FirewallRule, Principal, SpnHolder
from offlineprep.model import Finding, Remediation, Results, Status, ToolInfo
from offlineprep.pipeline import RunOptions, build_results, summarise, verdict_of
from offlineprep.render import fixscript

DC = "dc1.contoso.com"


def F(check: str, subject: str, fix: Remediation, status: str = "fail", **kw: object) -> Finding:
    return Finding(check=check, status=Status(status), severity="high", subject=subject, message="m",
                   remediation=r.bind_directory(fix, DC), **kw)  # type: ignore[arg-type]


def results(findings: list[Finding]) -> Results:
    return Results(tool=ToolInfo(version="t"), generated_at=datetime(2026, 1, 2, tzinfo=UTC),
                   verdict=verdict_of(findings), summary=summarise(findings), findings=findings)


def broken_site_findings() -> list[Finding]:
    deny = r.manual("remove the explicit deny first", t.file_server("fs01.c.com"))
    grant = r.ntfs_grant("fs01.c.com", "D:\\Exp", "C\\vmm", 0x1F01FF, "Full Control", account_sid="S-1-5-21-1-2-3-4",
                         before_sddl="O:BAG:SYD:(A;OICI;FA;;;BA)")
    return [
        F("ad.delegation", "hv01.c.com", r.add_delegation("HV01", ["cifs/fs01.c.com"], True, "hv01.c.com"),
          target="fs01.c.com"),
        F("path.ntfs-full-control", r"\\fs01.c.com\Exp", r.remediation("ntfs", [deny, grant]), account="C\\vmm"),
        F("path.share-full-control", r"\\fs01.c.com\Exp", r.grant_share("fs01.c.com", "Exp", "C\\vmm", "Full",
                                                                         account_sid="S-1-5-21-1-2-3-4",
                                                                         before_sddl="O:SYG:SYD:(A;;0x1200a9;;;WD)")),
        F("path.share-host-group", r"\\fs01.c.com\Exp", r.add_local_group_member("fs01.c.com", "S-1-5-32-544",
                                                                                  "Administrators", "C\\vmm")),
        F("policy.replication-port", "hv11.c.com", r.remediation("port", [r.open_firewall_port("hv11.c.com", 8084)]),
          status="warn"),
        F("policy.settings", "Gold", r.remediation("policy", [r.manual("copy frequency 7m is not 30s, 5m or 15m")])),
    ]


def test_sections_per_owner_each_saying_where_as_whom_and_what_it_needs() -> None:
    script = fixscript.render(results(broken_site_findings()))
    pwsh_syntax.assert_valid(script, "fix script")
    keys = ["AD", "fs01.c.com", "hv11.c.com", "hv01.c.com", "Manual"]
    listed = ", ".join(f"'{k}'" for k in keys)
    assert f"[ValidateSet({listed})]" in script and f"[string[]]$Section = @({listed})" in script
    heads = [m.start() for m in re.finditer(r"^    # ==== Section ", script, re.M)]
    forward = script[:script.index("\nelse {")]
    order = [forward.index(f"# ==== Section {k}") for k in ("AD", "fs01.c.com", "hv11.c.com", "Manual")]
    assert order == sorted(order) and len(heads) == 4 + 3  # forward, revert (nothing manual to undo; hv01 only purges)
    assert f"# ==== Section AD: Active Directory, through the domain controller {DC}" in script
    for key in ("AD", "fs01.c.com", "hv11.c.com"):
        head = forward[forward.index(f"# ==== Section {key}"):]
        block = head[:head.index(f"if ($Section -contains '{key}') {{")].splitlines()
        assert [line.split(":")[0].strip("# ") for line in block[1:]][:2] == ["Runs on", "Runs as"]
        assert any(line.lstrip().startswith("# Modules") for line in block)
        assert any(line.lstrip().startswith("# Requires (checked when the section runs") for line in block)
    # a #Requires line binds the whole script wherever it stands (about_Requires): only the global one
    assert [line for line in script.splitlines() if line.lower().startswith("#requires")] == ["#Requires -Version 4.0"]
    assert "Import-Module -Name 'ActiveDirectory'" in forward[forward.index("Section AD"):forward.index("Section fs01")]
    assert "Section hv11.c.com: Hyper-V host" in script and "Section fs01.c.com: file server" in script
    # the ticket purge belongs to its host's section, the replication to AD's; both last
    last = forward[forward.index("# ==== Last"):]
    assert "if ($Section -contains 'AD') {" in last and "if ($Section -contains 'hv01.c.com') {" in last
    assert last.index(f"repadmin /syncall '{DC}'") < last.index("klist purge")


def test_what_cannot_be_scripted_is_a_warning_at_its_place() -> None:
    script = fixscript.render(results(broken_site_findings()))
    forward = script[:script.index("\nelse {")]
    fs01 = forward[forward.index("# ==== Section fs01.c.com"):forward.index("# ==== Section hv11.c.com")]
    assert fs01.index("Write-Warning 'remove the explicit deny first'") < fs01.index("icacls $Path /grant $Grant")
    manual = forward[forward.index("# ==== Section Manual"):]
    assert "Write-Warning 'copy frequency 7m is not 30s, 5m or 15m'" in manual
    assert "ShouldProcess" not in manual[:manual.index("# ==== Last")]  # a reminder changes nothing


def test_the_revert_runs_backwards_and_one_failing_step_does_not_stop_the_others() -> None:
    script = fixscript.render(results(broken_site_findings()))
    revert = script[script.index("\nelse {"):]
    order = [revert.index(f"# ==== Section {k}") for k in ("hv11.c.com", "fs01.c.com", "AD")]
    assert order == sorted(order)
    fs01 = revert[revert.index("# ==== Section fs01.c.com"):revert.index("# ==== Section AD")]
    steps = [fs01.index(s) for s in ('$group.Remove("WinNT://$Member")', "Set-Acl -LiteralPath", "Set-SmbShare -Name $Name")]
    assert steps == sorted(steps)  # local group, NTFS, share: the reverse of the fix
    assert fs01.count("} catch { Write-Warning ('could not undo") == 3  # each step in its own try
    assert "Write-Warning 'remove the explicit deny first'" not in revert


def test_identical_actions_are_written_once_with_every_finding_they_answer() -> None:
    group = r.add_local_group_member("fs01.c.com", "S-1-5-32-544", "Administrators", "C\\vmm")
    script = fixscript.render(results([F("path.share-host-group", r"\\fs01.c.com\Exp", group),
                                       F("path.share-host-group", r"\\fs01.c.com\Imp", group)]))
    forward = script[:script.index("\nelse {")]
    assert forward.count('$group.Add("WinNT://$Member")') == 1
    assert r"path.share-host-group \\fs01.c.com\Exp" in forward and r"path.share-host-group \\fs01.c.com\Imp" in forward


def test_a_fix_written_as_text_is_shown_never_rewritten_or_run() -> None:
    """Nothing parses PowerShell text back: a check pack's text fix stays comments and a warning,
    even when it looks exactly like what offlineprep itself used to rewrite."""
    text = "Set-ADComputer -Identity 'HV01' -Add @{'msDS-AllowedToDelegateTo' = @('cifs/x')}\nklist purge -li 0x3e7"
    legacy = Finding(check="x.pack", status=Status.FAIL, severity="high", subject="hv01", message="m",
                     remediation=Remediation(summary="pack fix", powershell=text))
    script = fixscript.render(results([legacy]))
    pwsh_syntax.assert_valid(script)
    code = [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert not any("Set-ADComputer" in line or "klist" in line for line in code)
    assert "    # Set-ADComputer -Identity 'HV01' -Add @{'msDS-AllowedToDelegateTo' = @('cifs/x')}" in script
    assert "Write-Warning 'offlineprep cannot tell where this fix runs (pack fix)" in script


HOSTILE = [
    "x'; Remove-Item C:\\ -Recurse; '",
    "O\u2019Brien\u2018; Stop-Computer; \u201b",
    "$(Stop-Computer -Force)",
    "`$env:SECRET`n",
    "a;b | Out-File c:\\pwned",
    "line1\nline2\r\nRemove-Item -Path x",
    "\u00d3scar \u00f1o \u201cq\u201d \u2028Remove-Item y",
]


def hostile_site_results(value: str) -> Results:
    """A site whose every check fails with a fix, and whose names, paths, accounts, SIDs' holders,
    SPNs, firewall rules and policy name all carry `value` (host names stay DNS names)."""
    vmm, runas = f"CONTOSO\\{value}", f"CONTOSO\\r{value}"
    site = builders.site(accounts={"vmm_service": vmm, "run_as": [runas]},
                         policy={"name": value, "authentication": "certificate", "copy_frequency": "7m"})
    d = builders.directory()
    vmm_principal = d.principals.pop("CONTOSO\\svc-vmm")
    runas_principal = d.principals.pop("CONTOSO\\svc-runas")
    d.principals[vmm] = vmm_principal.model_copy(update={
        "query": vmm, "sam_account_name": value, "distinguished_name": f"CN={value},DC=contoso,DC=com",
        "user_account_control": 0x200 | 0x100000, "token_group_sids": [f"{builders.DOM}-513", f"{builders.DOM}-525"]})
    d.principals[runas] = runas_principal.model_copy(update={"query": runas, "sam_account_name": f"r{value}"})
    d.computers["hv01.contoso.com"] = d.computers["hv01.contoso.com"].model_copy(update={
        "sam_account_name": f"{value}$", "allowed_to_delegate_to": [value], "user_account_control": 0x1000})
    d.spn_holders["fs11.contoso.com"] = [
        *d.spn_holders["fs11.contoso.com"],
        SpnHolder(spn=f"HOST/fs11.contoso.com{value}", distinguished_name=f"CN={value},DC=contoso,DC=com",
                  sam_account_name=value)]
    h = builders.hosts()
    for name in ("fs01.contoso.com", "fs11.contoso.com"):
        server = h[name]
        path = server.paths[0].model_copy(update={
            "local_path": f"D:\\{value}", "ntfs_sddl": "O:BAG:SYD:PAI(A;OICI;FA;;;BA)",
            "free_bytes": 2**30, "share": server.paths[0].share.model_copy(  # type: ignore[union-attr]
                update={"sddl": "O:SYG:SYD:(A;;0x1200a9;;;WD)"})})
        groups = [g.model_copy(update={"member_sids": []}) for g in server.local_groups]
        h[name] = server.model_copy(update={"paths": [path], "local_groups": groups})
    h["hv11.contoso.com"] = h["hv11.contoso.com"].model_copy(update={"firewall_rules": [
        FirewallRule(name=value, enabled=True, direction="inbound", action="block", protocol="TCP",
                     local_ports=["8084"])]})
    assert isinstance(d.principals[vmm], Principal)
    return build_results(site, list(builders.CHECKS.values()), builders.facts(d, h), RunOptions())


@pytest.mark.parametrize("value", HOSTILE)
def test_the_whole_fix_script_of_a_hostile_site_keeps_every_value_in_a_literal(value: str) -> None:
    """Item 21: quotes, typographic quotes, backtick, $( , ;, newlines and non-ASCII, from the site
    file, AD and the hosts, through every check into every section, fix and revert."""
    res = hostile_site_results(value)
    kinds = {a.kind for f in res.findings if f.remediation for a in f.remediation.actions}
    expected = {"ad.delegation-values", "ad.protocol-transition", "ad.clear-not-delegated", "ad.leave-protected-users",
                "ad.spn", "host.share-rights", "host.ntfs-rights", "host.local-group-member", "host.firewall-disable",
                "host.kerberos-refresh", "manual"}
    if any(c in value for c in '"|\r\n'):  # no Windows path holds these: icacls is not given it, a step by hand is
        expected.discard("host.ntfs-rights")
        assert any("offlineprep writes no icacls command" in a.text for f in res.findings if f.remediation
                   for a in f.remediation.actions if isinstance(a, t.ManualStep))
    assert expected <= kinds
    assert not [f for f in res.findings if "failed internally" in f.message]
    script = fixscript.render(res)
    pieces = [p for p in re.split(r"[\r\n\u2028\u2029\x85]", value) if len(p) > 3]
    pwsh_syntax.assert_values_in_literals(script, pieces, "fix script")
    for finding in res.findings:
        if finding.remediation is not None:
            for text in (finding.remediation.powershell, finding.remediation.revert):
                if text:
                    pwsh_syntax.assert_values_in_literals(text, pieces, f"{finding.check} snippet")


def test_the_revert_replicates_ad_only_when_an_ad_step_was_undone() -> None:
    """An SPN move is not reverted: a revert that undoes only a share grant does not replicate AD."""
    holder = t.SpnHolderRef(distinguished_name="CN=OLD-FS,DC=c", spn="HOST/files.c.com", label="OLD-FS$")
    move = r.remediation("move", [r.move_spn("HOST/files.c.com", add_to="FS01", remove_from=[holder])])
    grant = r.grant_share("fs01.c.com", "Exp", "C\\vmm", "Full", account_sid="S-1-5-21-1-2-3-4",
                          before_sddl="O:SYG:SYD:(A;;0x1200a9;;;WD)")
    script = fixscript.render(results([F("ad.delegation-target", "files.c.com", move),
                                       F("path.share-full-control", r"\\fs01.c.com\Exp", grant)]))
    pwsh_syntax.assert_valid(script, "fix script")
    forward, backward = script.split("\nelse {", 1)
    assert "repadmin /syncall" in forward and "Set-ADObject" in forward
    assert "repadmin /syncall" not in backward and "Set-AD" not in backward
    assert "Set-SmbShare" in backward


def test_a_host_winrm_cannot_reach_gets_a_section_run_on_the_host_itself() -> None:
    """host.reachable's listener fix cannot travel by WinRM (it is what is missing): its section says
    it runs on the host itself, and the host's other steps (the ticket purge) still say WinRM."""
    listener = r.winrm_listener("hv01.c.com", "HV01", "https", 5986, hyperv=True, before="unreachable")
    findings = [
        F("host.reachable", "hv01.c.com", listener),
        F("host.reachable", "fs01.c.com", r.winrm_listener("fs01.c.com", "FS01", "https", 5986, hyperv=False,
                                                            before="timeout")),
        F("ad.delegation", "hv01.c.com", r.add_delegation("HV01", ["cifs/fs01.c.com"], True, "hv01.c.com"),
          target="fs01.c.com"),
    ]
    script = fixscript.render(results(findings))
    pwsh_syntax.assert_values_in_literals(script, ["hv01.c.com", "HV01", "fs01.c.com", "FS01"], "fix script")
    forward = script[:script.index("\nelse {")]
    fs01 = forward[forward.index("# ==== Section fs01.c.com"):]
    assert fs01.splitlines()[1].startswith("    # Runs on: fs01.c.com itself, signed in there (WinRM cannot reach it")
    assert "Windows PowerShell 4.0 on fs01.c.com (Windows Server 2012 R2 or later)\n" in fs01
    hv01 = forward[forward.index("# ==== Section hv01.c.com"):]
    assert hv01.splitlines()[1] == (
        "    # Runs on: hv01.c.com itself, signed in there (WinRM cannot reach it before this; anywhere else the step "
        "only checks whether it answers) for: Add a WinRM HTTPS listener on port 5986 and its firewall rule; "
        "hv01.c.com, through Invoke-Command (WinRM) from the machine running the fix script for: the Kerberos ticket "
        "purge at the end")
    assert ("Runs as: Administrators on the machine, in an elevated Windows PowerShell on the machine itself; "
            "Administrators on the host; repadmin needs Domain Admins") in hv01
    assert "if ($PSCmdlet.ShouldProcess('hv01.c.com', 'Add a WinRM HTTPS listener on port 5986 and its firewall rule'))" in hv01
    revert = script[script.index("\nelse {"):]
    assert "Remove-WSManInstance -ResourceURI 'winrm/config/Listener'" in revert
