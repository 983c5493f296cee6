"""host.local-group-member: an account added to a local group of a member server through ADSI
(docs/fixes.md, "Local groups on Windows Server 2012 R2"); the revert removes it. apply.ps1 does it
on the server (Invoke-LocalGroupMember)."""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote

# Win32 errors as ADSI reports them (HRESULT 0x8007xxxx, Microsoft: ADSI "Common Errors"), as the
# signed 32-bit numbers COMException.ErrorCode holds: ERROR_MEMBER_IN_ALIAS (1378) and
# ERROR_MEMBER_NOT_IN_ALIAS (1377), "already a member" / "not a member of the local group".
ALREADY_A_MEMBER = -2147023518  # 0x80070562
NOT_A_MEMBER = -2147023519  # 0x80070561


class AddLocalGroupMember(ActionBase):
    """Add an account to a local group of a member server, through ADSI (WinNT://), the group found
    by its SID: Windows PowerShell 4.0 on Windows Server 2012 R2 has no Add-LocalGroupMember."""

    kind: Literal["host.local-group-member"] = "host.local-group-member"
    rights: str = "Administrators on the server"
    group_sid: str
    group_label: str = ""
    member: str  # as the site file writes it
    member_sid: str | None = None
    before: bool = False
    after: bool = True

    phase: ClassVar[Phase] = Phase.LOCAL_GROUPS
    modules: ClassVar[tuple[str, ...]] = ("ADSI (WinNT provider)",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: {self.group_label or self.group_sid}", f"Add {self.member}"

    def written(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: {self.group_sid}", f"Add {self.member_sid or self.member}"

    def fix_lines(self) -> list[str]:
        return _local_group(self, add=True)

    def revert_lines(self) -> list[str]:
        return _local_group(self, add=False)

    def change(self) -> str:
        return f"{self.member_sid or self.member}: not a member of {self.group_sid} -> a member"


def _local_group(a: AddLocalGroupMember, add: bool) -> list[str]:
    # the group by SID (its name is localised), the member by SID where known: IADsGroup::Add and
    # ::Remove take "WinNT://<SID>" (Microsoft: IADsGroup::Add)
    member = a.member_sid or a.member.replace("\\", "/")
    verb, tolerated = ("Add", ALREADY_A_MEMBER) if add else ("Remove", NOT_A_MEMBER)
    why = "already a member" if add else "not a member"
    return remote(a.owner, "[string]$GroupSid, [string]$Member", [
        "$sid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $GroupSid",
        "$name = $sid.Translate([System.Security.Principal.NTAccount]).Value.Split('\\')[-1]",
        "$group = [ADSI]\"WinNT://$env:COMPUTERNAME/$name,group\"",
        f"try {{ $group.{verb}(\"WinNT://$Member\") }}",
        "catch {",
        "    $e = $_.Exception",
        "    while ($e -and -not ($e -is [System.Runtime.InteropServices.COMException])) { $e = $e.InnerException }",
        f"    if (-not $e -or $e.ErrorCode -ne {tolerated}) {{ throw }}   # {why}: nothing to do",
        "}",
    ], [a.group_sid, member])
