"""Rights granted to one account on a security descriptor, one base and two kinds: host.share-rights
(Grant-SmbShareAccess) and host.ntfs-rights (icacls /grant).

The revert puts back exactly the account's own explicit entries as `before_sddl` holds them
(docs/fixes.md, "Reverting a grant"), with `Restore-AccountAces`: the one function the fix script
and apply.ps1 both use. apply.ps1 does both kinds on the file server (Invoke-ShareRights, Invoke-NtfsRights).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from offlineprep.acl import SHARE_CHANGE, SHARE_FULL, SHARE_READ
from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote
from offlineprep.pwsh import quote

# icacls' specific rights (Microsoft: icacls, "A comma-separated list in parenthesis of specific
# rights") by access-mask bit, in the order the documentation lists them
ICACLS_SPECIFIC = [
    (0x10000, "D"), (0x20000, "RC"), (0x40000, "WDAC"), (0x80000, "WO"), (0x100000, "S"),
    (0x1000000, "AS"), (0x2000000, "MA"), (0x80000000, "GR"), (0x40000000, "GW"), (0x20000000, "GE"),
    (0x10000000, "GA"), (0x1, "RD"), (0x2, "WD"), (0x4, "AD"), (0x8, "REA"), (0x10, "WEA"), (0x20, "X"),
    (0x40, "DC"), (0x80, "RA"), (0x100, "WA"),
]
FULL_CONTROL = 0x1F01FF

# The revert of a grant: the account's explicit entries go back as the saved descriptor holds them,
# each at its index there; every other entry stays as it is now (one added since is kept). Only
# documented .NET types: RawSecurityDescriptor(String), RawAcl.RemoveAce / InsertAce / Count,
# KnownAce.SecurityIdentifier, GenericAce.IsInherited / Copy, GetSddlForm. offlineprep.lab.descriptors
# models the same steps for the tests.
RESTORE_FUNCTION = [
    "function Restore-AccountAces([string]$Current, [string]$Saved, [string]$Sid) {",
    "    $now = New-Object -TypeName System.Security.AccessControl.RawSecurityDescriptor -ArgumentList $Current",
    "    $was = New-Object -TypeName System.Security.AccessControl.RawSecurityDescriptor -ArgumentList $Saved",
    "    $account = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $Sid",
    "    $acl = $now.DiscretionaryAcl",
    "    if ($null -eq $acl -or $null -eq $was.DiscretionaryAcl) { throw 'a null DACL: restore it by hand' }",
    "    for ($i = $acl.Count - 1; $i -ge 0; $i--) {",
    "        $ace = $acl[$i]",
    "        if ($ace -is [System.Security.AccessControl.KnownAce] -and -not $ace.IsInherited -and "
    "$ace.SecurityIdentifier -eq $account) { $acl.RemoveAce($i) }",
    "    }",
    "    for ($i = 0; $i -lt $was.DiscretionaryAcl.Count; $i++) {",
    "        $ace = $was.DiscretionaryAcl[$i]",
    "        if ($ace -is [System.Security.AccessControl.KnownAce] -and -not $ace.IsInherited -and "
    "$ace.SecurityIdentifier -eq $account) {",
    "            $acl.InsertAce([Math]::Min($i, $acl.Count), $ace.Copy())",
    "        }",
    "    }",
    "    $now.DiscretionaryAcl = $acl",
    "    $now.GetSddlForm([System.Security.AccessControl.AccessControlSections]::All)",
    "}",
]

# apply.ps1 carries this marker where the revert's Restore-AccountAces goes: the script apply sends (and
# the lab runs) is the file with the fix script's own function put in, so both run the same lines
RESTORE_MARKER = "# @RESTORE-ACCOUNT-ACES@"


def with_restore_function(apply_ps1: str) -> str:
    """apply.ps1's text as it is sent: Restore-AccountAces put in at its marker."""
    return apply_ps1.replace(RESTORE_MARKER, "\n".join(RESTORE_FUNCTION))


# What icacls.exe may be given. Windows PowerShell 5.1 passes a native command's argument as it is, wrapped in
# double quotes only when it holds whitespace, escaping no quote inside it and dropping an empty one (the Legacy
# style of $PSNativeCommandArgumentPassing, which PowerShell 7.3 replaced: about_Parsing, "Passing arguments that
# contain quote characters", https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_parsing;
# about_Quoting_Rules). The program then splits its command line by the C runtime's rules, where `\"` is a
# literal quote. So a value holding a quote, or a backslash before the closing quote, ends early and the rest becomes
# more arguments: `D:\x" /T /C "y` gives icacls /T and /C, `D:\my folder\` swallows `/grant`. And a value that
# begins with `/` or `-` is read as a switch. The path is therefore a drive-letter path with no quote, control
# character or character Windows forbids in a name (Microsoft, "Naming Files, Paths, and Namespaces"), ending in no
# backslash but a drive's root; the account travels as its SID (`*S-1-...`, icacls' documented form) or as a name
# of the same discipline; the inheritance flags are icacls' own spellings. apply.ps1 checks the same shapes again.
LOCAL_PATH = r"^[A-Za-z]:\\(?:[^\x00-\x1f\"*?<>|/]*[^\x00-\x1f\"*?<>|/\\])?$"
SID_PATTERN = r"^S-1-[0-9]+(?:-[0-9]+)+$"
INHERITANCE = r"^(?:\((?:OI|CI|NP|IO)\))*$"
# the grant apply.ps1 hands icacls: `*SID:(OI)(CI)F` or `*SID:(OI)(CI)(RD,WD,...)` (ntfs_grant_argument with a SID)
ICACLS_GRANT = r"^\*S-1-[0-9]+(?:-[0-9]+)+:(?:\((?:OI|CI|NP|IO)\))*(?:F|\([A-Z]+(?:,[A-Z]+)*\))$"
_ACCOUNT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\"\u202a-\u202e\u2066-\u2069]|^[/\-]|\\$")


def _sid(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(SID_PATTERN, value):
        raise ValueError(f"{value!r} is not a SID (S-1-...)")
    return value


# what apply.ps1 looks for to say "already granted": the rights of each share access right, and the
# inheritance flags of icacls' spelling as AceFlags bits (Microsoft: System.Security.AccessControl.AceFlags)
SHARE_MASKS = {"Full": SHARE_FULL, "Change": SHARE_CHANGE, "Read": SHARE_READ}
_INHERITANCE_FLAGS = {"OI": 1, "CI": 2, "NP": 4, "IO": 8}


class AclGrant(ActionBase):
    """Rights added for one account to a security descriptor; the revert puts that account's own
    explicit entries back as `before_sddl` holds them, each at its place, and leaves every other
    entry as it is then (docs/fixes.md, "Reverting a grant")."""

    account: str  # as the site file writes it (DOMAIN\\name)
    account_sid: str | None = None
    before_sddl: str | None = None  # the descriptor as offlineprep read it
    before_aces: list[str] = Field(default_factory=list)  # the account's explicit entries in it (SDDL)

    apply_way: ClassVar[ApplyWay | None] = "host"

    @field_validator("account_sid")
    @classmethod
    def _a_sid(cls, value: str | None) -> str | None:
        return _sid(value)

    def descriptor_key(self) -> tuple[str, str]:
        """The share or folder whose descriptor the grant changes (grants of one run on the same one
        learn each other's accounts: apply.hosts.add_others)."""
        raise NotImplementedError


class GrantShareRights(AclGrant):
    """Grant-SmbShareAccess: Full, Change or Read on a share."""

    kind: Literal["host.share-rights"] = "host.share-rights"
    rights: str = "Administrators on the file server"
    share: str
    access_right: Literal["Full", "Change", "Read"]
    # MSFT_SmbShare.ScopeName of a share scoped to a clustered file server's client access point; None: the
    # default scope ('*'). Grant-SmbShareAccess / Get-SmbShare / Set-SmbShare -ScopeName then address that share
    # alone: by -Name only they match every share of that name, one per scope (learn.microsoft.com/powershell/
    # module/smbshare/grant-smbshareaccess, get-smbshareaccess example 2)
    scope: str | None = None

    phase: ClassVar[Phase] = Phase.SHARE
    modules: ClassVar[tuple[str, ...]] = ("SmbShare",)
    optional_in_id: ClassVar[tuple[str, ...]] = ("scope",)

    def describe(self) -> tuple[str, str]:
        where = f" (scope {self.scope})" if self.scope else ""
        return f"{machine_name(self.owner)}: share {self.share}{where}", f"Grant {self.account} {self.access_right}"

    def fix_lines(self) -> list[str]:
        return _grant_share(self)

    def revert_lines(self) -> list[str]:
        return _restore_share(self)

    def change(self) -> str:
        entries = ", ".join(self.before_aces) if self.before_aces else "none"
        return f"{self.account}'s share entries: {entries} -> adds {self.access_right}"

    def descriptor_key(self) -> tuple[str, str]:
        return ("share", self.share.casefold() + (f"@{self.scope.casefold()}" if self.scope else ""))

    def host_request(self, recorded: dict[str, Any] | None) -> dict[str, Any]:
        return {"sid": self.account_sid, "mask": SHARE_MASKS[self.access_right], "flags": 0}


class GrantNtfsRights(AclGrant):
    """icacls /grant on a folder, inherited by what the folder will hold ((OI)(CI))."""

    kind: Literal["host.ntfs-rights"] = "host.ntfs-rights"
    rights: str = "change permissions on the folder (Administrators on the file server)"
    local_path: str
    mask: int  # the access mask granted, e.g. 0x1F01FF (Full Control)
    inheritance: str = "(OI)(CI)"
    what: str = ""  # in words: "Full Control", "read and write"

    phase: ClassVar[Phase] = Phase.NTFS
    modules: ClassVar[tuple[str, ...]] = ("icacls.exe", "Microsoft.PowerShell.Security")

    @field_validator("local_path")
    @classmethod
    def _one_icacls_argument(cls, value: str) -> str:
        """A path Windows PowerShell 5.1 hands to icacls as exactly one argument (LOCAL_PATH)."""
        if not re.fullmatch(LOCAL_PATH, value):
            raise ValueError(f"{value!r} is not a local folder path icacls can be given as one argument (a drive "
                             "letter path without quotes, control characters or a trailing backslash)")
        return value

    @field_validator("inheritance")
    @classmethod
    def _icacls_inheritance(cls, value: str) -> str:
        if not re.fullmatch(INHERITANCE, value):
            raise ValueError(f"{value!r} is not icacls inheritance flags ((OI), (CI), (NP), (IO))")
        return value

    @model_validator(mode="after")
    def _account_not_a_switch(self) -> GrantNtfsRights:
        """The name icacls gets when no SID was read cannot end its argument early or read as a switch (with a
        SID, icacls gets `*SID` and the name is only shown)."""
        if self.account_sid is None and (not self.account or _ACCOUNT_FORBIDDEN.search(self.account)):
            raise ValueError(f"account {self.account!r} cannot be given to icacls as an account name (a quote, a "
                             "control character, a leading / or -, or a trailing backslash)")
        return self

    def describe(self) -> tuple[str, str]:
        return (f"{machine_name(self.owner)}: {self.local_path}",
                f"Grant {self.account} {self.what or hex(self.mask)} (NTFS)")

    def fix_lines(self) -> list[str]:
        return _grant_ntfs(self)

    def revert_lines(self) -> list[str]:
        return _restore_ntfs(self)

    def change(self) -> str:
        entries = ", ".join(self.before_aces) if self.before_aces else "none"
        return f"{self.account}'s NTFS entries: {entries} -> adds {self.what or hex(self.mask)} {self.inheritance}"

    def descriptor_key(self) -> tuple[str, str]:
        return ("ntfs", self.local_path.rstrip("\\").casefold())

    def host_request(self, recorded: dict[str, Any] | None) -> dict[str, Any]:
        return {"sid": self.account_sid, "mask": self.mask, "flags": ace_flags(self.inheritance),
                "grant": ntfs_grant_argument(self)}


def ace_flags(inheritance: str) -> int:
    flags = 0
    for name, bit in _INHERITANCE_FLAGS.items():
        if f"({name})" in inheritance.upper():
            flags |= bit
    return flags


def icacls_rights(mask: int) -> str:
    """`F` for Full Control, else the specific rights list, e.g. `(RD,WD,AD,REA,WEA,RA,WA,RC,S)`."""
    if mask & FULL_CONTROL == FULL_CONTROL and not mask & ~FULL_CONTROL:
        return "F"
    names = [name for bit, name in ICACLS_SPECIFIC if mask & bit]
    return "(" + ",".join(names) + ")"


def ntfs_grant_argument(action: GrantNtfsRights) -> str:
    """What icacls gets after /grant: `*SID:(OI)(CI)F` (a SID with the documented `*`), else the name."""
    who = f"*{action.account_sid}" if action.account_sid else action.account
    return f"{who}:{action.inheritance}{icacls_rights(action.mask)}"


def _grant_share(a: GrantShareRights) -> list[str]:
    if a.scope:
        return remote(a.owner, "[string]$Name, [string]$Scope, [string]$Account, [string]$Right", [
            "Grant-SmbShareAccess -Name $Name -ScopeName $Scope -AccountName $Account -AccessRight $Right -Force "
            "| Out-Null",
        ], [a.share, a.scope, a.account, a.access_right])
    return remote(a.owner, "[string]$Name, [string]$Account, [string]$Right", [
        "Grant-SmbShareAccess -Name $Name -AccountName $Account -AccessRight $Right -Force | Out-Null",
    ], [a.share, a.account, a.access_right])


def _restore_share(a: GrantShareRights) -> list[str]:
    if not (a.account_sid and a.before_sddl):
        return [f"Write-Warning {quote(_unknown(a, f'share access to {a.share}'))}"]
    if a.scope:
        return remote(a.owner, "[string]$Name, [string]$Scope, [string]$Sid, [string]$Saved", [
            *RESTORE_FUNCTION,
            "$share = Get-SmbShare -Name $Name -ScopeName $Scope",
            "Set-SmbShare -Name $Name -ScopeName $Scope -SecurityDescriptor (Restore-AccountAces $share.SecurityDescriptor "
            "$Saved $Sid) -Force",
        ], [a.share, a.scope, a.account_sid, a.before_sddl])
    return remote(a.owner, "[string]$Name, [string]$Sid, [string]$Saved", [
        *RESTORE_FUNCTION,
        "$share = Get-SmbShare -Name $Name",
        "Set-SmbShare -Name $Name -SecurityDescriptor (Restore-AccountAces $share.SecurityDescriptor $Saved $Sid) -Force",
    ], [a.share, a.account_sid, a.before_sddl])


def _unknown(a: AclGrant, what: str) -> str:
    machine = a.owner.name if a.owner is not None and a.owner.name else "the file server"
    return (f"{a.account}'s {what} on {machine} before the fix was not read: offlineprep cannot put it back; "
            "review it by hand")


def _grant_ntfs(a: GrantNtfsRights) -> list[str]:
    return remote(a.owner, "[string]$Path, [string]$Grant", [
        "icacls $Path /grant $Grant",
        "if ($LASTEXITCODE -ne 0) { throw \"icacls /grant failed on $Path (exit code $LASTEXITCODE)\" }",
    ], [a.local_path, ntfs_grant_argument(a)])


def _restore_ntfs(a: GrantNtfsRights) -> list[str]:
    if not (a.account_sid and a.before_sddl):
        return [f"Write-Warning {quote(_unknown(a, f'NTFS access to {a.local_path}'))}"]
    return remote(a.owner, "[string]$Path, [string]$Sid, [string]$Saved", [
        *RESTORE_FUNCTION,
        # the access section only: Set-Acl of a full descriptor would also try to write the owner
        "$acl = (Get-Item -LiteralPath $Path).GetAccessControl('Access')",
        "$acl.SetSecurityDescriptorSddlForm((Restore-AccountAces $acl.Sddl $Saved $Sid), 'Access')",
        "Set-Acl -LiteralPath $Path -AclObject $acl",
    ], [a.local_path, a.account_sid, a.before_sddl])
