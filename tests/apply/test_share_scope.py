"""Issue 19 item 6: share fixes and apply address a share in its scope. A clustered file server role's
share is scoped to its client access point (MSFT_SmbShare.ScopeName); by -Name alone, Get-SmbShare,
Grant-SmbShareAccess and Set-SmbShare match every share of that name, one per scope
(learn.microsoft.com/powershell/module/smbshare/grant-smbshareaccess, new-smbshare -ScopeName)."""

from __future__ import annotations

import pwsh_syntax

from offlineprep.actions import powershell as ps
from offlineprep.actions import types as t
from offlineprep.apply import hosts as remote
from offlineprep.lab.windows import SimFolder, SimShare, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.remediation import create_share, grant_share, share_grant
from offlineprep.site import WinRMConfig

SID = "S-1-5-21-100-200-300-1101"
READ = f"O:SYG:SYD:(A;;0x1200a9;;;{SID})"


def test_a_scoped_share_grant_names_its_scope_in_fix_and_revert() -> None:
    fix = grant_share("fs01.contoso.com", "ASRExport", "CONTOSO\\svc-vmm", "Full", account_sid=SID, before_sddl=READ,
                      scope="FSCAP")
    assert "Grant-SmbShareAccess -Name $Name -ScopeName $Scope" in fix.powershell and "'FSCAP'" in fix.powershell
    assert fix.revert is not None and "Set-SmbShare -Name $Name -ScopeName $Scope" in fix.revert
    pwsh_syntax.assert_valid(fix.powershell)
    pwsh_syntax.assert_valid(fix.revert)


def test_the_default_scope_keeps_the_fix_and_its_id_as_before() -> None:
    scoped_default = share_grant("fs01", "S", "A", "Full", account_sid=SID, scope="*")
    plain = share_grant("fs01", "S", "A", "Full", account_sid=SID)
    assert scoped_default.id == plain.id and "-ScopeName" not in "\n".join(ps.fix_lines(plain))


def test_a_missing_share_is_created_in_the_scope_its_name_reaches() -> None:
    fix = create_share("fs01", "ASRImport", "E:\\ASRImport", scope="FSCAP")
    assert "New-SmbShare -Name $Name -Path $Path -ScopeName $Scope" in fix.powershell
    assert fix.revert is not None and "Remove-SmbShare -Name $Name -ScopeName $Scope -Force" in fix.revert


def _apply(sim: SimulatedHost, action: t.ActionBase) -> str:
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=15)
    with WinRMEndpoint({"fs01.lab.test": sim}, username="lab\\preflight", password="pw") as endpoint:
        run = remote.run_on_host(config, "fs01.lab.test", remote.request_document("apply", [remote.request_item(action)]),
                                 endpoint.protocol_factory(15), "pw")
    answer = run.answers.get(action.id)
    return answer.outcome if answer is not None else f"problem: {run.problem}"


def test_apply_grants_on_the_share_of_its_scope_only() -> None:
    """Before: Get-SmbShare -Name matched both shares of the name, and the grant could not tell them apart."""
    sim = SimulatedHost("FS01.lab.test", shares=[SimShare("ASRExport", "C:\\Local", READ),
                                                 SimShare("ASRExport", "E:\\ASRExport", READ, scope="FSCAP")],
                        folders=[SimFolder("E:\\ASRExport", READ), SimFolder("C:\\Local", READ)])
    action = share_grant("fs01.lab.test", "ASRExport", "LAB\\svc-vmm", "Full", account_sid=SID, before_sddl=READ,
                         scope="FSCAP")
    assert _apply(sim, action) == "applied"
    assert "0x1f01ff" in sim.shares[1].sddl.casefold() and sim.shares[0].sddl == READ
    unscoped = share_grant("fs01.lab.test", "ASRExport", "LAB\\svc-vmm", "Full", account_sid=SID, before_sddl=READ)
    assert _apply(sim, unscoped) != "applied" and sim.shares[0].sddl == READ


def test_apply_creates_the_share_in_its_scope() -> None:
    sim = SimulatedHost("FS01.lab.test", shares=[SimShare("ASRImport", "C:\\Other", READ)],
                        folders=[SimFolder("E:\\ASRImport", READ)])
    action = create_share("fs01.lab.test", "ASRImport", "E:\\ASRImport", scope="FSCAP").actions[0]
    assert _apply(sim, action) == "applied"
    assert [(s.path, s.scope) for s in sim.shares] == [("C:\\Other", "*"), ("E:\\ASRImport", "FSCAP")]
