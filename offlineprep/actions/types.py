"""Typed fix actions: what a fix changes, where, from which state to which, and with which rights.

A fix is data. Each action names its owner (the domain controller, a file server or a Hyper-V host
it runs against), the state offlineprep saw before (from the facts) and the state it leaves, the
rights it needs, and a stable id derived from its content: the same change found by two checks is
one action. Renderings (`offlineprep.actions.powershell`: the report's snippet and the fix script)
are functions of these fields; nothing reads PowerShell text back. docs/fixes.md describes them.

The directory owner's name (the site's domain controller) is filled in by the pipeline, not by the
checks: `bound_to_directory`.
"""

from __future__ import annotations

import hashlib
import json
from enum import Enum, StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

OwnerKind = Literal["directory", "file-server", "hyperv-host"]


class Phase(str, Enum):
    """Where a change belongs in the fix script's safe order (offlineprep.model re-exports it)."""

    DIRECTORY = "directory"  # AD: delegation, account flags, SPNs
    SHARE = "share"  # share permissions
    NTFS = "ntfs"  # NTFS permissions
    LOCAL_GROUPS = "local-groups"  # local group membership on the file server
    HOST = "host"  # host settings: firewall, replication listener, moving a share
    REMINDER = "reminder"  # ticket purge, AD replication, manual decisions


# userAccountControl bits an action changes (KB 305144; docs/fixes.md) and the Set-ADAccountControl
# parameter that sets each one (Set-ADAccountControl docs: -TrustedForDelegation,
# -TrustedToAuthForDelegation, -AccountNotDelegated)
UAC_ACCOUNTDISABLE = 0x2
UAC_TRUSTED_FOR_DELEGATION = 0x80000
UAC_NOT_DELEGATED = 0x100000
UAC_TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000
UAC_PARAMETERS = {
    UAC_TRUSTED_FOR_DELEGATION: "TrustedForDelegation",
    UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: "TrustedToAuthForDelegation",
    UAC_NOT_DELEGATED: "AccountNotDelegated",
}

# Rights, said once. Changing delegation settings needs the "Enable computer and user accounts to
# be trusted for delegation" user right (SeEnableDelegationPrivilege), which only Administrators of
# the domain hold on domain controllers by default (Microsoft: security policy setting of that name).
DELEGATION_RIGHTS = ("a Domain Admin, or an account that holds the right 'Enable computer and user accounts to be "
                     "trusted for delegation' (SeEnableDelegationPrivilege) on the domain controllers and may write "
                     "the computer object")
ACCOUNT_RIGHTS = "write access to the account's userAccountControl (Domain Admins or Account Operators)"
GROUP_RIGHTS = "write access to the group's members (Domain Admins)"
SPN_RIGHTS = "write access to servicePrincipalName of every account named (Domain Admins)"


class FixSection(StrEnum):
    """The fix script's sections that are no machine (a machine's section is its name as written)."""

    AD = "AD"  # every directory action, through one domain controller
    MANUAL = "Manual"  # what cannot be scripted: steps to do by hand


class Owner(BaseModel):
    """Where an action runs: the directory (through one domain controller) or one Windows machine.

    For the directory, `name` is the domain controller every AD cmdlet is sent to (`-Server`): the
    host of the site's [directory] server URL, filled in by the pipeline (None until then). For a
    machine, it is the name as the site file writes it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: OwnerKind
    name: str | None = None

    @property
    def section(self) -> str:
        """The fix script's section key (its -Section value)."""
        return FixSection.AD if self.kind == "directory" else (self.name or "?")


DIRECTORY = Owner(kind="directory")


def _machine(owner: Owner | None) -> str:
    return owner.name or "" if owner is not None else ""


def file_server(name: str) -> Owner:
    return Owner(kind="file-server", name=name)


def hyperv_host(name: str) -> Owner:
    return Owner(kind="hyperv-host", name=name)


class ActionBase(BaseModel):
    """Fields every action has. `id` is derived from everything else (a hash), never chosen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    id: str = ""
    owner: Owner | None
    rights: str = ""

    phase: ClassVar[Phase] = Phase.REMINDER
    modules: ClassVar[tuple[str, ...]] = ()
    revertible: ClassVar[bool] = True
    # run on the owner machine itself, by someone signed in there, not through WinRM from elsewhere
    on_the_machine: ClassVar[bool] = False

    def model_post_init(self, context: Any, /) -> None:
        content = self.model_dump(mode="json", exclude={"id"})
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=True).encode()).hexdigest()
        object.__setattr__(self, "id", f"{self.kind}:{digest[:16]}")  # frozen: set once, from the content

    def bound_to_directory(self, server: str | None) -> ActionBase:
        """This action with every directory owner that names no domain controller yet naming `server`."""
        data = self.model_dump(mode="json", exclude={"id"})
        changed = _bind(data, server)
        return type(self).model_validate(data) if changed else self

    def describe(self) -> tuple[str, str]:
        """(target, what): the two strings ShouldProcess shows."""
        raise NotImplementedError

    def runs_on(self) -> str:
        """Where it runs, in the words of the fix script's section header and the report."""
        return runs_on(self.owner, on_the_machine=self.on_the_machine)

    def placement(self) -> str:
        """Where it runs and as whom (the report's line under a fix), as the fix script's section
        headers say it."""
        return f"Runs on: {self.runs_on()}." + (f" Runs as: {self.rights}." if self.rights else "")


def runs_on(owner: Owner | None, *, on_the_machine: bool = False) -> str:
    """Where an action of `owner` runs, in words. The one wording of it: the fix script's section
    headers and the report's line under each fix both come from here."""
    if owner is None or (owner.kind != "directory" and not owner.name):
        return "no machine: it is a step to do by hand"
    if owner.kind == "directory":
        return ("any machine with the ActiveDirectory module (RSAT-AD-PowerShell); every change is sent to "
                + (f"{owner.name} (-Server), the site's [directory] server" if owner.name
                   else "the nearest domain controller"))
    if on_the_machine:
        return (f"{owner.name} itself, signed in there (WinRM cannot reach it before this; anywhere else the step "
                "only checks whether it answers)")
    return f"{owner.name}, through Invoke-Command (WinRM) from the machine running the fix script"


def _bind(data: Any, server: str | None) -> bool:
    changed = False
    if isinstance(data, dict):
        if data.get("kind") == "directory" and set(data) <= {"kind", "name"} and not data.get("name") and server:
            data["name"] = server
            return True
        for value in data.values():
            changed = _bind(value, server) or changed
    elif isinstance(data, list):
        for value in data:
            changed = _bind(value, server) or changed
    return changed


# --------------------------------------------------------------------------- Active Directory


class AddDelegationValues(ActionBase):
    """Add SPNs to a computer's msDS-AllowedToDelegateTo (constrained delegation targets)."""

    kind: Literal["ad.delegation-values"] = "ad.delegation-values"
    owner: Owner | None = DIRECTORY
    rights: str = DELEGATION_RIGHTS
    computer: str  # Get-ADComputer -Identity: the sAMAccountName without its $
    values: list[str]  # the SPNs to add (only those missing when offlineprep read the directory)
    before: list[str] = Field(default_factory=list)  # msDS-AllowedToDelegateTo as read
    after: list[str] = Field(default_factory=list)

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)

    def describe(self) -> tuple[str, str]:
        return self.computer, "Allow delegation to " + ", ".join(self.values)


class AccountControlChange(ActionBase):
    """A change of userAccountControl flags, made with Set-ADAccountControl (or Enable-ADAccount)."""

    account: str  # the identity: sAMAccountName (a computer's without its $)
    computer: bool = False  # a computer account: found with Get-ADComputer
    before_uac: int | None = None  # userAccountControl as read
    after_uac: int | None = None

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)
    flags: ClassVar[dict[int, bool]] = {}  # the flags this action sets (True) or clears (False)

    def changes(self) -> dict[int, bool]:
        """The flags to write: those whose value differs from what was read (all, if unknown)."""
        if self.before_uac is None:
            return dict(self.flags)
        return {bit: on for bit, on in self.flags.items() if bool(self.before_uac & bit) != on}

    def restores(self) -> dict[int, bool]:
        """What the revert writes back: each flag the fix changed, as it was read (the opposite of
        what the fix wrote when nothing was read)."""
        out = {}
        for bit, on in self.changes().items():
            was = bool(self.before_uac & bit) if self.before_uac is not None else not on
            if was != on:
                out[bit] = was
        return out


def uac_after(before: int | None, flags: dict[int, bool]) -> int | None:
    if before is None:
        return None
    value = before
    for bit, on in flags.items():
        value = value | bit if on else value & ~bit
    return value


class SetProtocolTransition(AccountControlChange):
    """'Use any authentication protocol' (TRUSTED_TO_AUTH_FOR_DELEGATION) on a computer; with
    `clear_unconstrained`, also unconstrained delegation (TRUSTED_FOR_DELEGATION) off."""

    kind: Literal["ad.protocol-transition"] = "ad.protocol-transition"
    owner: Owner | None = DIRECTORY
    rights: str = DELEGATION_RIGHTS
    computer: bool = True
    clear_unconstrained: bool = False

    def changes(self) -> dict[int, bool]:
        wanted = {UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: True}
        if self.clear_unconstrained:
            wanted[UAC_TRUSTED_FOR_DELEGATION] = False
        if self.before_uac is None:
            return wanted
        return {bit: on for bit, on in wanted.items() if bool(self.before_uac & bit) != on} or wanted

    def describe(self) -> tuple[str, str]:
        what = "Turn on 'Use any authentication protocol'"
        return self.account, what + (" and turn off unconstrained delegation" if self.clear_unconstrained else "")


class ClearNotDelegated(AccountControlChange):
    """Clear 'Account is sensitive and cannot be delegated' (NOT_DELEGATED)."""

    kind: Literal["ad.clear-not-delegated"] = "ad.clear-not-delegated"
    owner: Owner | None = DIRECTORY
    rights: str = ACCOUNT_RIGHTS
    flags: ClassVar[dict[int, bool]] = {UAC_NOT_DELEGATED: False}

    def describe(self) -> tuple[str, str]:
        return self.account, "Clear 'Account is sensitive and cannot be delegated'"


class EnableAccount(AccountControlChange):
    """Enable a disabled account. Not reverted: disabling a Hyper-V host's or the VMM service's
    account again would break them, which is never what undoing a preflight fix means."""

    kind: Literal["ad.enable-account"] = "ad.enable-account"
    owner: Owner | None = DIRECTORY
    rights: str = ACCOUNT_RIGHTS
    flags: ClassVar[dict[int, bool]] = {UAC_ACCOUNTDISABLE: False}
    revertible: ClassVar[bool] = False

    def describe(self) -> tuple[str, str]:
        return self.account, "Enable the account"


class GroupMembershipChange(ActionBase):
    """A direct membership in a domain group, the group named by SID (its name is localised)."""

    group_sid: str
    member: str  # -Members: a DN, SID or sAMAccountName
    member_dn: str | None = None  # to read the member's memberOf (direct memberships)
    member_label: str = ""  # the account as the site file writes it, for messages

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)


class LeaveProtectedUsers(GroupMembershipChange):
    """Take an account out of Protected Users (RID 525), whose members are never delegated. A
    membership through a nested group cannot be removed here: the rendering says so instead."""

    kind: Literal["ad.leave-protected-users"] = "ad.leave-protected-users"
    owner: Owner | None = DIRECTORY
    rights: str = GROUP_RIGHTS
    before: bool = True  # a member (tokenGroups, transitive)
    after: bool = False

    def describe(self) -> tuple[str, str]:
        return self.member_label or self.member, "Remove from Protected Users"


class AddDirectoryGroupMember(GroupMembershipChange):
    """Add an account to a domain group (a DC's Builtin\\Administrators, where a share lives on a DC)."""

    kind: Literal["ad.group-member"] = "ad.group-member"
    owner: Owner | None = DIRECTORY
    rights: str = GROUP_RIGHTS
    group_label: str = ""
    before: bool = False
    after: bool = True

    phase: ClassVar[Phase] = Phase.LOCAL_GROUPS

    def describe(self) -> tuple[str, str]:
        return self.member_label or self.member, f"Add to {self.group_label or self.group_sid}"


class SpnHolderRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    distinguished_name: str
    spn: str
    label: str = ""  # sAMAccountName, for messages


class MoveSpn(ActionBase):
    """Register an SPN on the account of the machine that serves the share, after taking it off the
    accounts that must not hold it (a DC refuses a duplicate, so removals come first). `remove_from`
    never names the serving machine's account. The revert undoes a registration (nothing taken off
    another account) by unregistering what was added; a move is not undone: putting the SPN back on
    a wrong holder breaks the name again (KRB_AP_ERR_MODIFIED, or a duplicate), and taking it off
    the serving machine's account leaves the name with no holder."""

    kind: Literal["ad.spn"] = "ad.spn"
    owner: Owner | None = DIRECTORY
    rights: str = SPN_RIGHTS
    spn: str
    add_to: str | None = None  # Get-ADComputer -Identity of the serving machine (sAMAccountName without $, or DN)
    add_to_label: str = ""
    remove_from: list[SpnHolderRef] = Field(default_factory=list)
    before: list[SpnHolderRef] = Field(default_factory=list)  # every holder as read

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)

    def describe(self) -> tuple[str, str]:
        parts = [f"remove {h.spn} from {h.label or h.distinguished_name}" for h in self.remove_from]
        if self.add_to:
            parts.append(f"register {self.spn} on {self.add_to_label or self.add_to}")
        return self.spn, "; ".join(parts).capitalize()


class AllowDelegationFrom(ActionBase):
    """Resource-based constrained delegation: the path computer lets hosts delegate to it
    (msDS-AllowedToActOnBehalfOfOtherIdentity through -PrincipalsAllowedToDelegateToAccount); works
    across domains, where classic constrained delegation does not.

    The hosts are read through the owner (the site's domain controller: their accounts are in the
    domain read). A path computer of another domain has `computer_domain`: its account is read and
    written there (-Server takes a domain name), and the hosts are passed as the objects read in
    their own domain, as Microsoft's cross-domain examples do (Application Proxy "SSO using KCD",
    delegation in a different domain; "Making the second hop in PowerShell Remoting", resource-based
    constrained delegation, which also clears the list with $null)."""

    kind: Literal["ad.resource-based-delegation"] = "ad.resource-based-delegation"
    owner: Owner | None = DIRECTORY
    rights: str = "write access to the path computer's msDS-AllowedToActOnBehalfOfOtherIdentity"
    computer: str  # the path computer (Get-ADComputer -Identity)
    computer_domain: str | None = None  # its domain's DNS name when it is not the one the owner's DC serves
    principals: list[str]  # the hosts to allow (Get-ADComputer -Identity each)
    before: list[str] = Field(default_factory=list)  # SIDs allowed as read ([] when not read)

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)

    def describe(self) -> tuple[str, str]:
        return self.computer, "Allow delegation from " + ", ".join(self.principals)


# --------------------------------------------------------------------------- file servers and hosts


class CreateShare(ActionBase):
    """Create the folder if needed and share it (New-SmbShare: Everyone gets Read by default)."""

    kind: Literal["host.create-share"] = "host.create-share"
    rights: str = "Administrators on the file server"
    share: str
    local_path: str
    before: Literal["absent"] = "absent"

    phase: ClassVar[Phase] = Phase.SHARE
    modules: ClassVar[tuple[str, ...]] = ("SmbShare",)

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: {self.share}", f"Share {self.local_path} as {self.share}"


class CreateFolder(ActionBase):
    """Create a missing folder. Not reverted: by then it may hold the exported virtual machines."""

    kind: Literal["host.create-folder"] = "host.create-folder"
    rights: str = "write access to the parent folder (Administrators on the file server)"
    local_path: str
    before: Literal["absent"] = "absent"

    phase: ClassVar[Phase] = Phase.SHARE
    revertible: ClassVar[bool] = False

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: {self.local_path}", "Create the folder"


class AclGrant(ActionBase):
    """Rights added for one account to a security descriptor; the revert puts that account's own
    explicit entries back as `before_sddl` holds them, each at its place, and leaves every other
    entry as it is then (docs/fixes.md, "Reverting a grant")."""

    account: str  # as the site file writes it (DOMAIN\\name)
    account_sid: str | None = None
    before_sddl: str | None = None  # the descriptor as offlineprep read it
    before_aces: list[str] = Field(default_factory=list)  # the account's explicit entries in it (SDDL)


class GrantShareRights(AclGrant):
    """Grant-SmbShareAccess: Full, Change or Read on a share."""

    kind: Literal["host.share-rights"] = "host.share-rights"
    rights: str = "Administrators on the file server"
    share: str
    access_right: Literal["Full", "Change", "Read"]

    phase: ClassVar[Phase] = Phase.SHARE
    modules: ClassVar[tuple[str, ...]] = ("SmbShare",)

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: share {self.share}", f"Grant {self.account} {self.access_right}"


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

    def describe(self) -> tuple[str, str]:
        return (f"{_machine(self.owner)}: {self.local_path}",
                f"Grant {self.account} {self.what or hex(self.mask)} (NTFS)")


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

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: {self.group_label or self.group_sid}", f"Add {self.member}"


class OpenFirewallPort(ActionBase):
    """An inbound allow rule of our own for one TCP port, for the given profiles and remote addresses."""

    kind: Literal["host.firewall-open"] = "host.firewall-open"
    rights: str = "Administrators on the host"
    rule_name: str
    display_name: str
    port: int
    profile: str = "Any"  # New-NetFirewallRule -Profile: Any, Domain, Private, Public (comma list)
    remote_address: list[str] = Field(default_factory=lambda: ["Any"])
    before: list[str] = Field(default_factory=list)  # names of the enabled inbound allow rules covering the port

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("NetSecurity",)

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: TCP {self.port}", f"Allow inbound TCP {self.port}"


class DisableFirewallRules(ActionBase):
    """Disable inbound block rules: a block rule wins over every allow rule (Windows Firewall)."""

    kind: Literal["host.firewall-disable"] = "host.firewall-disable"
    rights: str = "Administrators on the host"
    names: list[str]  # the rules' Names (locale-independent)
    port: int

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("NetSecurity",)

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: " + ", ".join(self.names), f"Disable the block rules for TCP {self.port}"


WINRM_HTTPS_RULE = "offlineprep-WinRM-HTTPS-In"


class ConfigureWinRMListener(ActionBase):
    """The WinRM listener the site's [winrm] scheme and port need, made on the machine itself.

    WinRM cannot carry this change to the machine: it is what is missing. So the rendering acts
    only where $env:COMPUTERNAME is the machine's own name; anywhere else it asks the listener
    (Test-WSMan, which is the check from another machine) and says where to run it when it does not
    answer. `Enable-PSRemoting` makes only an HTTP listener (5985); for scheme https an HTTPS
    listener bound to a Server Authentication certificate naming the machine is added (Microsoft:
    New-WSManInstance, example 1 "Create a HTTPS listener"; KB 2019527: 5986 by default), with an
    inbound firewall rule of our own for its port in the Domain profile.

    The revert removes what the fix added: its firewall rule, and the HTTPS listener when the fix
    made it (a listener carries no name of ours, so the fix records that in the rule's description).
    Enable-PSRemoting is not undone: remoting is on by default on Windows Server 2012 and later
    (Microsoft: Enable-PSRemoting), so it restores the default, and Disable-PSRemoting would only
    block the session configurations (Microsoft: Disable-PSRemoting)."""

    kind: Literal["host.winrm-listener"] = "host.winrm-listener"
    rights: str = "Administrators on the machine, in an elevated Windows PowerShell on the machine itself"
    computer_name: str  # $env:COMPUTERNAME there: the first label of its name, as Windows spells it (upper case)
    dns_name: str  # the name the site connects to, which the certificate must hold
    scheme: Literal["http", "https"]
    port: int
    rule_name: str = WINRM_HTTPS_RULE
    before: str  # what offlineprep met on the port: the failure's kind (unreachable, timeout, tls)

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Microsoft.WSMan.Management", "Microsoft.PowerShell.Security", "NetSecurity")
    on_the_machine: ClassVar[bool] = True

    def describe(self) -> tuple[str, str]:
        if self.scheme == "https":
            return self.dns_name, f"Add a WinRM HTTPS listener on port {self.port} and its firewall rule"
        return self.dns_name, "Enable WinRM over HTTP (Enable-PSRemoting)"


class InstallRole(ActionBase):
    """Install a Windows Server role (Install-WindowsFeature), Hyper-V for a host that lacks it. Not
    reverted: removing Hyper-V from a host that holds replicas stops them, and needs a restart."""

    kind: Literal["host.install-role"] = "host.install-role"
    rights: str = "Administrators on the host"
    feature: str = "Hyper-V"  # Install-WindowsFeature -Name
    before: str = "not installed"

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("ServerManager",)
    revertible: ClassVar[bool] = False

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: {self.feature}", f"Install {self.feature} (a restart follows)"


class StartService(ActionBase):
    """Start a Windows service that is stopped (vmms; LanmanServer, the Server service, for SMB). Not
    reverted: stopping vmms or the Server service again stops replication or the shares."""

    kind: Literal["host.start-service"] = "host.start-service"
    rights: str = "Administrators on the machine"
    service: str  # the service's Name (locale-independent): vmms, LanmanServer
    before: str | None = None  # Get-Service .Status as read; None: not read

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Microsoft.PowerShell.Management",)
    revertible: ClassVar[bool] = False

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: {self.service}", f"Start the {self.service} service"


# w32tm /config /syncfromflags: each W32Time\Parameters Type it leaves (Microsoft, "Windows Time
# service tools and settings": MANUAL, DOMHIER, NO, ALL)
SYNC_FROM_FLAGS = {"NTP": "MANUAL", "NT5DS": "DOMHIER", "NoSync": "NO", "AllSync": "ALL"}


class SyncTime(ActionBase):
    """Let a domain member take its time from the domain hierarchy (W32Time Type NT5DS, w32tm
    /config /syncfromflags:DOMHIER) and resynchronise now (w32tm /resync /rediscover). The revert
    puts the time source back as read (the clock itself is not set back: a wrong clock is what the
    check found)."""

    kind: Literal["host.time-sync"] = "host.time-sync"
    rights: str = "Administrators on the machine"
    before_type: str | None = None  # W32Time\Parameters Type as read; None: not read
    after_type: Literal["NT5DS"] = "NT5DS"

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("w32tm.exe",)

    def describe(self) -> tuple[str, str]:
        return _machine(self.owner), "Synchronise the clock with the domain hierarchy"


class ReplicaServerSettings(ActionBase):
    """Set-VMReplicationServer: the Replica server settings that differ from what the policy needs.
    `before` and `after` hold the settings as read and as wanted, by parameter name
    (ReplicationEnabled, AllowedAuthenticationType, ReplicationAllowedFromAnyServer,
    DefaultStorageLocation, CertificateThumbprint); only those in `after` are written. The revert
    writes `before` back for each of them, when the host still holds what the fix wrote."""

    kind: Literal["host.replica-server"] = "host.replica-server"
    rights: str = "Administrators (or Hyper-V Administrators) on the host"
    before: dict[str, str | bool | None] = Field(default_factory=dict)
    after: dict[str, str | bool]

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Hyper-V",)

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: Replica server", "Set " + ", ".join(f"{k} {v}" for k, v in self.after.items())


class ReplicaAuthorization(ActionBase):
    """New-VMReplicationAuthorizationEntry: let a primary server replicate to this Replica server
    (which must not accept any server: Microsoft, New-VMReplicationAuthorizationEntry). The revert
    removes the entry."""

    kind: Literal["host.replica-authorization"] = "host.replica-authorization"
    rights: str = "Administrators (or Hyper-V Administrators) on the host"
    allowed_primary_server: str  # the primary's FQDN
    storage_location: str  # -ReplicaStorageLocation
    trust_group: str = "DEFAULT"
    before: Literal["absent"] = "absent"

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Hyper-V",)

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: Replica server", f"Accept replication from {self.allowed_primary_server}"


class AcceptAnyServerName(ActionBase):
    r"""DisableStrictNameChecking = 1 under LanmanServer\Parameters: the SMB server answers a name that
    is not its own (a DNS alias), Microsoft's resolution in KB 3181029; the Server service reads it
    when it starts. The revert writes back the value as read (removes it when there was none)."""

    kind: Literal["host.smb-name-checking"] = "host.smb-name-checking"
    rights: str = "Administrators on the file server"
    alias: str  # the name the path uses, for messages
    before: int | None = None  # DisableStrictNameChecking as read; None: not set
    after: Literal[1] = 1

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Microsoft.PowerShell.Management",)

    def describe(self) -> tuple[str, str]:
        return f"{_machine(self.owner)}: DisableStrictNameChecking", f"Answer SMB requests for {self.alias}"


class RefreshTickets(ActionBase):
    """After a delegation change: AD replication from the domain controller written to, then the
    host's own Kerberos tickets purged (or a reboot), so VMMS asks the KDC again."""

    kind: Literal["host.kerberos-refresh"] = "host.kerberos-refresh"
    rights: str = "Administrators on the host; repadmin needs Domain Admins"
    directory: Owner = DIRECTORY

    phase: ClassVar[Phase] = Phase.REMINDER

    def describe(self) -> tuple[str, str]:
        return _machine(self.owner), "Purge the computer's own Kerberos tickets"


class ManualStep(ActionBase):
    """What cannot be scripted (move a share, free space, a policy value): a reminder, in order."""

    kind: Literal["manual"] = "manual"
    owner: Owner | None = None
    text: str

    phase: ClassVar[Phase] = Phase.REMINDER
    revertible: ClassVar[bool] = False

    def describe(self) -> tuple[str, str]:
        return _machine(self.owner), self.text

    def placement(self) -> str:
        where = f" on {self.owner.name}" if self.owner is not None and self.owner.name else ""
        return f"A step to do by hand{where}: read it before you run anything."


Action = Annotated[
    AddDelegationValues | SetProtocolTransition | ClearNotDelegated | EnableAccount | LeaveProtectedUsers
    | AddDirectoryGroupMember | MoveSpn | AllowDelegationFrom | CreateShare | CreateFolder | GrantShareRights
    | GrantNtfsRights | AddLocalGroupMember | OpenFirewallPort | DisableFirewallRules | ConfigureWinRMListener
    | InstallRole | StartService | SyncTime | ReplicaServerSettings | ReplicaAuthorization | AcceptAnyServerName
    | RefreshTickets | ManualStep,
    Field(discriminator="kind"),
]
