"""The registry of fix action kinds: each kind's class, once, keyed by its kind string.

A kind is one module of this package (docs/fixes.md, "A new kind"): its model, its PowerShell fix
and revert, its words for a plan, the rights it needs, how apply carries it out (`apply_way`) and
what apply.ps1 needs for it. This file only lists them: `Action` is the union pydantic reads a
plan, a record or a results file with, in the order the JSON schemas list them; `KINDS` finds a
kind's class by its string, which is written nowhere else in Python.
"""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import Field

from offlineprep.actions.account_control import ClearNotDelegated, EnableAccount, SetProtocolTransition
from offlineprep.actions.acl_grant import GrantNtfsRights, GrantShareRights
from offlineprep.actions.base import ActionBase, ApplyWay
from offlineprep.actions.create_folder import CreateFolder
from offlineprep.actions.create_share import CreateShare
from offlineprep.actions.delegation_values import AddDelegationValues
from offlineprep.actions.firewall_disable import DisableFirewallRules
from offlineprep.actions.firewall_open import OpenFirewallPort
from offlineprep.actions.group_membership import AddDirectoryGroupMember, LeaveProtectedUsers
from offlineprep.actions.install_role import InstallRole
from offlineprep.actions.kerberos_refresh import RefreshTickets
from offlineprep.actions.local_group_member import AddLocalGroupMember
from offlineprep.actions.manual import ManualStep
from offlineprep.actions.replica_authorization import ReplicaAuthorization
from offlineprep.actions.replica_server import ReplicaServerSettings
from offlineprep.actions.resource_based_delegation import AllowDelegationFrom
from offlineprep.actions.smb_name_checking import AcceptAnyServerName
from offlineprep.actions.spn import MoveSpn
from offlineprep.actions.start_service import StartService
from offlineprep.actions.time_sync import SyncTime
from offlineprep.actions.winrm_listener import ConfigureWinRMListener

Action = Annotated[
    AddDelegationValues | SetProtocolTransition | ClearNotDelegated | EnableAccount | LeaveProtectedUsers
    | AddDirectoryGroupMember | MoveSpn | AllowDelegationFrom | CreateShare | CreateFolder | GrantShareRights
    | GrantNtfsRights | AddLocalGroupMember | OpenFirewallPort | DisableFirewallRules | ConfigureWinRMListener
    | InstallRole | StartService | SyncTime | ReplicaServerSettings | ReplicaAuthorization | AcceptAnyServerName
    | RefreshTickets | ManualStep,
    Field(discriminator="kind"),
]

KINDS: dict[str, type[ActionBase]] = {cls.kind_name(): cls for cls in get_args(get_args(Action)[0])}


def kinds_applied(way: ApplyWay) -> frozenset[str]:
    """The kinds apply carries out that way: over LDAP, or in apply.ps1 on a host."""
    return frozenset(kind for kind, cls in KINDS.items() if cls.apply_way == way)
