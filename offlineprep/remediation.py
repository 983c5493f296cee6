"""Fixes for findings, built as typed actions (offlineprep.actions) with their PowerShell rendering.

Checks call these builders; each returns a `Remediation` whose `actions` are the data and whose
`powershell` / `revert` are the rendering the report shows. The state seen before comes from the
facts the check judged (keyword arguments such as `before`, `uac`, `before_sddl`). AD actions name
no domain controller here: the pipeline binds the site's own (`bind_directory`), so every AD line
gets `-Server`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pydantic import ValidationError

from offlineprep.acl import FILE_GENERIC_READ, FILE_GENERIC_WRITE, FULL_CONTROL, SddlError, explicit_aces_of, format_ace
from offlineprep.acl import parse_sddl as _parse_sddl
from offlineprep.actions import powershell as ps
from offlineprep.actions import types as t
from offlineprep.model import Phase, Remediation
from offlineprep.pwsh import quote, quote_list

_ICACLS_SIMPLE = {"F": FULL_CONTROL, "(R,W)": FILE_GENERIC_READ | FILE_GENERIC_WRITE}


def remediation(summary: str, actions: Sequence[t.ActionBase]) -> Remediation:
    """A remediation of `actions`, its text rendered from them (never written by hand)."""
    powershell, revert = ps.snippet(actions)
    # the earliest phase of its actions; reminders (a manual step, the ticket purge) are last anyway
    order = list(Phase)
    phase = min((a.phase for a in actions), key=order.index, default=Phase.REMINDER)
    return Remediation(summary=summary, powershell=powershell, revert=revert, phase=phase,
                       actions=list(actions))


def bind_directory(fix: Remediation, server: str | None) -> Remediation:
    """`fix` with its AD actions sent to `server` (the site's domain controller), text rendered again."""
    if not fix.actions or not server:
        return fix
    actions = [a.bound_to_directory(server) for a in fix.actions]
    if all(new is old for new, old in zip(actions, fix.actions, strict=True)):
        return fix
    return remediation(fix.summary, actions)


def on_server(server: str, script: str, args: list[str]) -> str:
    """Text of `script` run on `server` with `args` as data: for check packs that still write their
    fix as text (the fix script shows such a fix as a manual step)."""
    return (
        f"Invoke-Command -ComputerName {quote(server)} -ArgumentList {quote_list(args)} -ScriptBlock {{\n"
        f"    {script}\n}}"
    )


def ad_identity(sam_account_name: str | None, fallback: str) -> str:
    """Get-ADComputer's -Identity: the sAMAccountName without the trailing $ reads best."""
    return (sam_account_name or fallback).rstrip("$")


def delegation_values(host_identity: str, verb: str, spns: list[str]) -> str:
    """The re-runnable PowerShell that adds (`verb` Add) or removes (Remove) delegation values."""
    action = t.AddDelegationValues(computer=host_identity, values=spns)
    return "\n".join(ps.fix_lines(action) if verb == "Add" else ps.revert_lines(action))


# --------------------------------------------------------------------------- Active Directory


def _refresh(host_name: str) -> t.RefreshTickets:
    return t.RefreshTickets(owner=t.hyperv_host(host_name))


def _values(host_identity: str, spns: list[str], before: list[str] | None) -> t.AddDelegationValues:
    was = list(before or [])
    return t.AddDelegationValues(computer=host_identity, values=spns, before=was,
                                 after=was + [s for s in spns if s not in was])


def _transition(host_identity: str, uac: int | None, clear_unconstrained: bool = False) -> t.SetProtocolTransition:
    flags = {t.UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: True}
    if clear_unconstrained:
        flags[t.UAC_TRUSTED_FOR_DELEGATION] = False
    return t.SetProtocolTransition(account=host_identity, before_uac=uac, after_uac=t.uac_after(uac, flags),
                                   clear_unconstrained=clear_unconstrained)


def add_delegation(host_identity: str, spns: list[str], protocol_transition: bool, host_name: str, *,
                   before: list[str] | None = None, uac: int | None = None) -> Remediation:
    actions: list[t.ActionBase] = [_values(host_identity, spns, before)]
    if protocol_transition:
        actions.append(_transition(host_identity, uac))
    actions.append(_refresh(host_name))
    return remediation(f"Trust {host_identity} for delegation to {', '.join(spns)} with any authentication protocol",
                       actions)


def enable_protocol_transition(host_identity: str, host_name: str, *, uac: int | None = None) -> Remediation:
    return remediation(f"Turn on 'Use any authentication protocol' (protocol transition) for {host_identity}",
                       [_transition(host_identity, uac), _refresh(host_name)])


def replace_unconstrained(host_identity: str, spns: list[str], host_name: str, *, before: list[str] | None = None,
                          uac: int | None = None) -> Remediation:
    """`spns`: only those still missing (an empty list when the constrained entries are already there)."""
    actions: list[t.ActionBase] = [_transition(host_identity, uac, clear_unconstrained=True)]
    if spns:
        actions.append(_values(host_identity, spns, before))
    actions.append(_refresh(host_name))
    target = f"constrained delegation to {', '.join(spns)}" if spns else "its constrained delegation entries"
    return remediation(f"Replace unconstrained delegation on {host_identity} by {target}", actions)


def allow_delegation_from(path_computer: str, hosts: list[str], host_names: list[str], *,
                          before: list[str] | None = None, computer_domain: str | None = None) -> Remediation:
    """Resource-based delegation on the path computer (the cross-domain form). `computer_domain`: the
    path computer's domain when it is not the one read (its account is read and written there; the
    hosts are read from the site's DC); `before`: the SIDs it allows, when its account was read."""
    actions: list[t.ActionBase] = [t.AllowDelegationFrom(computer=path_computer, principals=hosts,
                                                         computer_domain=computer_domain, before=list(before or []))]
    actions += [_refresh(name) for name in host_names]
    where = f" ({computer_domain})" if computer_domain else ""
    return remediation(f"Let {', '.join(hosts)} delegate to {path_computer}{where} (resource-based constrained "
                       "delegation, set on the file server's account in its own domain)", actions)


def clear_not_delegated(identity: str, *, uac: int | None = None) -> t.ClearNotDelegated:
    return t.ClearNotDelegated(account=identity, before_uac=uac,
                               after_uac=t.uac_after(uac, {t.UAC_NOT_DELEGATED: False}))


def leave_protected_users(identity: str, group_sid: str, *, member_dn: str | None = None,
                          label: str = "") -> t.LeaveProtectedUsers:
    return t.LeaveProtectedUsers(group_sid=group_sid, member=identity, member_dn=member_dn, member_label=label)


def enable_account(identity: str, *, computer: bool = False, uac: int | None = None) -> t.EnableAccount:
    return t.EnableAccount(account=identity, computer=computer, before_uac=uac,
                           after_uac=t.uac_after(uac, {t.UAC_ACCOUNTDISABLE: False}))


def add_directory_group_member(group_sid: str, group_label: str, member: str, *, member_dn: str | None = None,
                               label: str = "") -> t.AddDirectoryGroupMember:
    return t.AddDirectoryGroupMember(group_sid=group_sid, group_label=group_label, member=member, member_dn=member_dn,
                                     member_label=label)


class ClientAccessPointSpn(ValueError):
    """A fix would take an SPN off the computer object of a clustered role's client access point."""


def _account_of(ref: t.SpnHolderRef) -> str:
    """The holder's sAMAccountName when the label is one, else FS01$ from its DN's CN (a computer
    object's sAMAccountName is its CN with a $)."""
    if ref.label.endswith("$"):
        return ref.label.casefold()
    first = ref.distinguished_name.split(",", 1)[0]
    return (first.split("=", 1)[-1] + "$").casefold()


def move_spn(spn: str, *, add_to: str | None, add_to_label: str = "", remove_from: Sequence[t.SpnHolderRef] = (),
             before: Sequence[t.SpnHolderRef] = (), never_from: Collection[str] = ()) -> t.MoveSpn:
    """`never_from`: the sAMAccountNames of client access points' computer objects (checkkit.
    client_access_point_accounts). A clustered role's network name registers HOST/<cap> on its own
    computer object and the node that owns the role decrypts tickets with that object's key; taken
    off it, Kerberos to the role fails and the name may not come online ("Prestage cluster computer
    objects in Active Directory Domain Services"). Such a move is refused: ClientAccessPointSpn."""
    guarded = {a.casefold() for a in never_from}
    taken = [r for r in remove_from if _account_of(r) in guarded]
    if taken:
        raise ClientAccessPointSpn(f"{spn} would be taken off {taken[0].label or taken[0].distinguished_name}, the "
                                   "computer object of a clustered role's client access point")
    return t.MoveSpn(spn=spn, add_to=add_to, add_to_label=add_to_label, remove_from=list(remove_from),
                     before=list(before))


# --------------------------------------------------------------------------- file servers and hosts


def _account_aces(before_sddl: str | None, account_sid: str | None, domain_sid: str | None) -> list[str]:
    if not (before_sddl and account_sid):
        return []
    try:
        return [format_ace(a) for a in explicit_aces_of(_parse_sddl(before_sddl, domain_sid), account_sid)]
    except SddlError:
        return []


def ntfs_grant(server: str, local_path: str, account: str, mask: int, what: str, *, account_sid: str | None = None,
               before_sddl: str | None = None, domain_sid: str | None = None) -> t.GrantNtfsRights | t.ManualStep:
    """The icacls grant; a step by hand when icacls could not be given the path or the name as one argument
    (a quote or a line end, which no Windows path holds: offlineprep.actions.acl_grant, docs/security.md)."""
    try:
        return t.GrantNtfsRights(owner=t.file_server(server), local_path=local_path, account=account, mask=mask,
                                 what=what, account_sid=account_sid, before_sddl=before_sddl,
                                 before_aces=_account_aces(before_sddl, account_sid, domain_sid))
    except ValidationError:
        return t.ManualStep(owner=t.file_server(server),
                            text=f"Grant {account} {what} (NTFS) on {local_path} by hand: offlineprep writes no icacls "
                                 "command for a path or name that holds a quote, a line end or a control character")


def share_scope(scope: str | None) -> str | None:
    """A share's ScopeName as fixes pass it: None for the default scope '*' (no -ScopeName), else the
    client access point the share is scoped to."""
    return scope if scope and scope.strip() != "*" else None


def share_grant(server: str, share: str, account: str, access_right: str, *, account_sid: str | None = None,
                before_sddl: str | None = None, domain_sid: str | None = None,
                scope: str | None = None) -> t.GrantShareRights:
    return t.GrantShareRights(owner=t.file_server(server), share=share, account=account,
                              access_right=access_right, scope=share_scope(scope),
                              account_sid=account_sid, before_sddl=before_sddl,
                              before_aces=_account_aces(before_sddl, account_sid, domain_sid))


def grant_ntfs(server: str, local_path: str, account: str, rights: str | int, what: str, *,
               account_sid: str | None = None, before_sddl: str | None = None,
               domain_sid: str | None = None) -> Remediation:
    """`rights`: an access mask, or the icacls spelling the checks used before ("F", "(R,W)")."""
    mask = rights if isinstance(rights, int) else _ICACLS_SIMPLE[rights]
    action = ntfs_grant(server, local_path, account, mask, what, account_sid=account_sid, before_sddl=before_sddl,
                        domain_sid=domain_sid)
    return remediation(f"Grant {account} {what} (NTFS) on {local_path} on {server}", [action])


def grant_share(server: str, share: str, account: str, access_right: str, *, account_sid: str | None = None,
                before_sddl: str | None = None, domain_sid: str | None = None,
                scope: str | None = None) -> Remediation:
    action = share_grant(server, share, account, access_right, account_sid=account_sid, before_sddl=before_sddl,
                         domain_sid=domain_sid, scope=scope)
    return remediation(f"Grant {account} {access_right} on share {share} on {server}", [action])


def add_local_group_member(server: str, group_sid: str, group_name: str, account: str, *,
                           member_sid: str | None = None) -> Remediation:
    """Through ADSI, so it runs on Windows PowerShell 4.0 (Windows Server 2012 R2); re-runnable:
    "already a member" (and, in the revert, "not a member") is passed over, anything else stops."""
    action = t.AddLocalGroupMember(owner=t.file_server(server), group_sid=group_sid, group_label=group_name,
                                   member=account, member_sid=member_sid)
    return remediation(f"Add {account} to {group_name} on {server}", [action])


def create_share(server: str, share: str, local_path: str, *, scope: str | None = None) -> Remediation:
    action = t.CreateShare(owner=t.file_server(server), share=share, local_path=local_path, scope=share_scope(scope))
    return remediation(f"Create the share {share} on {server}", [action])


def create_folder(server: str, local_path: str) -> Remediation:
    return remediation(f"Create {local_path} on {server}",
                       [t.CreateFolder(owner=t.file_server(server), local_path=local_path)])


def open_firewall_port(host: str, port: int, *, profile: str = "Any", remote_address: Sequence[str] = ("Any",),
                       before: Sequence[str] = ()) -> t.OpenFirewallPort:
    # the rule is ours by name and a second run only enables it: a rule for other profiles is another
    # rule, so one made for the Domain profile is not taken for the Private profile's later
    name = f"offlineprep-HVR-{port}" + ("" if profile == "Any" else "-" + "-".join(p.strip() for p in profile.split(",")))
    return t.OpenFirewallPort(owner=t.hyperv_host(host), rule_name=name, display_name=name, port=port, profile=profile,
                              remote_address=list(remote_address), before=list(before))


def disable_firewall_rules(host: str, port: int, names: Sequence[str]) -> t.DisableFirewallRules:
    return t.DisableFirewallRules(owner=t.hyperv_host(host), names=list(names), port=port)


def winrm_listener(machine: str, computer_name: str, scheme: str, port: int, *, hyperv: bool,
                   before: str) -> Remediation:
    """The WinRM listener the site's [winrm] scheme and port need, made on `machine` itself (WinRM
    cannot reach it: that is what is missing). `computer_name`: $env:COMPUTERNAME there."""
    owner = t.hyperv_host(machine) if hyperv else t.file_server(machine)
    action = t.ConfigureWinRMListener(owner=owner, computer_name=computer_name, dns_name=machine,
                                      scheme="https" if scheme == "https" else "http", port=port, before=before)
    if scheme == "https":
        summary = f"Give {machine} a WinRM HTTPS listener on port {port} (on the host itself, as a local administrator)"
    else:
        summary = f"Enable WinRM over HTTP on {machine} (on the host itself, as a local administrator)"
    return remediation(summary, [action])


def manual(text: str, owner: t.Owner | None = None) -> t.ManualStep:
    return t.ManualStep(owner=owner, text=text)


# --------------------------------------------------------------------------- the prerequisites the walkthrough leaves out


def install_hyperv(host: str) -> t.InstallRole:
    return t.InstallRole(owner=t.hyperv_host(host))


def start_service(machine: str, service: str, *, before: str | None, hyperv: bool) -> t.StartService:
    owner = t.hyperv_host(machine) if hyperv else t.file_server(machine)
    return t.StartService(owner=owner, service=service, before=before)


def sync_time(machine: str, *, before_type: str | None, hyperv: bool) -> t.SyncTime:
    owner = t.hyperv_host(machine) if hyperv else t.file_server(machine)
    return t.SyncTime(owner=owner, before_type=before_type)


def replica_settings(host: str, before: dict[str, str | bool | None],
                     after: dict[str, str | bool]) -> t.ReplicaServerSettings | t.ManualStep:
    """Set-VMReplicationServer with `after`; a step by hand when a value is not one the action type writes
    (REPLICA_WRITABLE: a host that reported a thumbprint that is no SHA-1 thumbprint, say)."""
    try:
        return t.ReplicaServerSettings.model_validate({"owner": t.hyperv_host(host), "before": before, "after": after})
    except ValidationError:
        wanted = ", ".join(f"-{name} {value}" for name, value in after.items())
        return t.ManualStep(owner=t.hyperv_host(host),
                            text=f"Set the Replica server settings by hand (Set-VMReplicationServer {wanted}): "
                                 "offlineprep writes only the settings and values its action type allows")


def authorize_primary(host: str, primary: str, storage: str, trust_group: str = "DEFAULT") -> t.ReplicaAuthorization:
    return t.ReplicaAuthorization(owner=t.hyperv_host(host), allowed_primary_server=primary, storage_location=storage,
                                  trust_group=trust_group)


def accept_alias(server: str, alias: str, *, before: int | None) -> t.AcceptAnyServerName:
    return t.AcceptAnyServerName(owner=t.file_server(server), alias=alias, before=before)


SMB_RULE = "offlineprep-SMB-445"


def open_smb_port(server: str, host: str, remote_address: Sequence[str] = ("Any",)) -> t.OpenFirewallPort:
    """An inbound rule of our own for TCP 445 on the file server, from one Hyper-V host's addresses
    (the built-in "File and Printer Sharing (SMB-In)" may be off by policy: a rule of ours is removed
    by the revert, theirs is left). One rule per host: a second host's rule of the same name would
    only be enabled, its addresses never added."""
    name = f"{SMB_RULE}-{host.rstrip('.')}"
    return t.OpenFirewallPort(owner=t.file_server(server), rule_name=name, display_name=f"offlineprep: SMB from {host}",
                              port=445, remote_address=list(remote_address))
