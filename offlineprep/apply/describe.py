"""Plan steps in words: where each runs, what it changes from which state to which, and the rights it
needs. Plain text (the CLI escapes and styles it), so the dry run, the record and the docs say the same."""

from __future__ import annotations

from collections.abc import Sequence

from offlineprep.actions import types as t
from offlineprep.apply.model import How, Plan, Step

_FLAGS = {t.UAC_ACCOUNTDISABLE: "disabled", t.UAC_TRUSTED_FOR_DELEGATION: "unconstrained delegation",
          t.UAC_NOT_DELEGATED: "sensitive, cannot be delegated",
          t.UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: "any authentication protocol"}


def where(step: Step, directory_server: str | None) -> str:
    if step.how is How.DIRECTORY:
        return f"AD ({directory_server})" if directory_server else "AD"
    owner = step.action.owner
    return owner.name if owner is not None and owner.name else "-"


def what(action: t.ActionBase) -> str:
    target, doing = action.describe()
    if isinstance(action, t.ManualStep):
        return doing
    owner = action.owner
    if owner is not None and owner.kind != "directory" and owner.name:
        # the machine is said where the step runs: `fs01: share X` reads as `share X`
        target = target.removeprefix(f"{owner.name}: ").removeprefix(owner.name)
    return f"{target}: {doing}" if target else doing


def _uac(value: int | None) -> str:
    if value is None:
        return "unknown"
    words = [name for bit, name in _FLAGS.items() if value & bit]
    return f"0x{value:X}" + (f" ({', '.join(words)})" if words else "")


def _list(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "none"


def change(action: t.ActionBase) -> str:
    """From which state to which, as the plan holds them."""
    match action:
        case t.AddDelegationValues():
            return f"msDS-AllowedToDelegateTo: {_list(action.before)} -> adds {_list(action.values)}"
        case t.AccountControlChange():
            return f"userAccountControl: {_uac(action.before_uac)} -> {_uac(action.after_uac)}"
        case t.LeaveProtectedUsers():
            return "a member of Protected Users -> not a member"
        case t.AddDirectoryGroupMember():
            return f"not a member of {action.group_label or action.group_sid} -> a member"
        case t.MoveSpn():
            before = [f"{h.spn} on {h.label or h.distinguished_name}" for h in action.before]
            return f"holders: {_list(before)} -> " + action.describe()[1]
        case t.AllowDelegationFrom():
            return f"allowed to delegate: {_list(action.before)} -> adds {_list(action.principals)}"
        case t.CreateShare():
            return f"no share {action.share} -> {action.local_path} shared as {action.share}"
        case t.CreateFolder():
            return f"no folder -> {action.local_path} created"
        case t.GrantShareRights():
            return f"{action.account}'s share entries: {_list(action.before_aces)} -> adds {action.access_right}"
        case t.GrantNtfsRights():
            return (f"{action.account}'s NTFS entries: {_list(action.before_aces)} -> adds "
                    f"{action.what or hex(action.mask)} {action.inheritance}")
        case t.AddLocalGroupMember():
            return f"not a member of {action.group_label or action.group_sid} -> a member"
        case t.OpenFirewallPort():
            return (f"no rule {action.rule_name} -> inbound allow TCP {action.port}, profile {action.profile}, "
                    f"from {_list(action.remote_address)}")
        case t.DisableFirewallRules():
            return f"enabled -> disabled: {_list(action.names)}"
        case t.RefreshTickets():
            return "the computer's own Kerberos tickets -> purged (klist purge -li 0x3e7), after the AD changes"
        case t.StartService():
            return f"the service {action.service}: {action.before or 'not running'} -> Running"
        case t.SyncTime():
            source = (f"W32Time Type {action.after_type} (as it is)" if action.before_type == action.after_type
                      else f"W32Time Type: {action.before_type or 'not read'} -> {action.after_type}")
            return f"{source}, then the clock resynchronised (w32tm /resync /rediscover)"
        case t.ReplicaServerSettings():
            return "; ".join(f"{name}: {_setting(action.before.get(name))} -> {_setting(value)}"
                             for name, value in action.after.items())
        case t.ReplicaAuthorization():
            return (f"no entry for {action.allowed_primary_server} -> an entry, storage {action.storage_location}, "
                    f"trust group {action.trust_group}")
        case t.AcceptAnyServerName():
            return (f"DisableStrictNameChecking: {'not set' if action.before is None else action.before} -> "
                    f"{action.after} (the Server service reads it when it starts)")
    return ""


def _setting(value: object) -> str:
    if value is None or value == "":
        return "none"
    return str(value)


def rights(action: t.ActionBase) -> str:
    """What the account needs for apply to carry the action out (apply runs no repadmin: the ticket purge
    is the host's own)."""
    if isinstance(action, t.RefreshTickets):
        return "Administrators on the host (klist purge -li 0x3e7 purges the computer's own logon session)"
    return action.rights


def rights_needed(plan: Plan, directory_account: str | None, winrm_account: str | None) -> list[tuple[str, str]]:
    """(where, what the account there needs), said once per place, before any step runs."""
    out: dict[str, list[str]] = {}
    for step in plan.steps:
        if step.how is How.BY_HAND or not step.action.rights:
            continue
        place = where(step, plan.site.directory_server)
        account = directory_account if step.how is How.DIRECTORY else winrm_account
        key = f"{place}, as {account}" if account else place
        needed = rights(step.action)
        if needed not in out.setdefault(key, []):
            out[key].append(needed)
    return [(key, "; ".join(rights)) for key, rights in out.items()]
