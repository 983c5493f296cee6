"""The fix action models under the names checks, renderers and tests have always imported
(`offlineprep.actions.types as t`): a facade over the kind modules of this package and their base.

Each kind lives in its own module (offlineprep/actions/<kind>.py) and is registered once in
`offlineprep.actions.kinds`; a new kind need not be added here.
"""

from __future__ import annotations

from offlineprep.actions.account_control import (
    ACCOUNT_RIGHTS,
    UAC_ACCOUNTDISABLE,
    UAC_NOT_DELEGATED,
    UAC_PARAMETERS,
    UAC_TRUSTED_FOR_DELEGATION,
    UAC_TRUSTED_TO_AUTH_FOR_DELEGATION,
    AccountControlChange,
    ClearNotDelegated,
    EnableAccount,
    SetProtocolTransition,
    uac_after,
)
from offlineprep.actions.acl_grant import AclGrant, GrantNtfsRights, GrantShareRights
from offlineprep.actions.base import (
    DELEGATION_RIGHTS,
    DIRECTORY,
    ActionBase,
    FixSection,
    Owner,
    OwnerKind,
    Phase,
    file_server,
    hyperv_host,
    runs_on,
)
from offlineprep.actions.create_folder import CreateFolder
from offlineprep.actions.create_share import CreateShare
from offlineprep.actions.delegation_values import AddDelegationValues
from offlineprep.actions.firewall_disable import DisableFirewallRules
from offlineprep.actions.firewall_open import OpenFirewallPort
from offlineprep.actions.group_membership import (
    GROUP_RIGHTS,
    AddDirectoryGroupMember,
    GroupMembershipChange,
    LeaveProtectedUsers,
)
from offlineprep.actions.install_role import InstallRole
from offlineprep.actions.kerberos_refresh import RefreshTickets
from offlineprep.actions.kinds import KINDS, Action, kinds_applied
from offlineprep.actions.local_group_member import AddLocalGroupMember
from offlineprep.actions.manual import ManualStep
from offlineprep.actions.replica_authorization import ReplicaAuthorization
from offlineprep.actions.replica_server import ReplicaServerSettings
from offlineprep.actions.resource_based_delegation import AllowDelegationFrom
from offlineprep.actions.smb_name_checking import AcceptAnyServerName
from offlineprep.actions.spn import SPN_RIGHTS, MoveSpn, SpnHolderRef
from offlineprep.actions.start_service import StartService
from offlineprep.actions.time_sync import SYNC_FROM_FLAGS, SyncTime
from offlineprep.actions.winrm_listener import WINRM_HTTPS_RULE, ConfigureWinRMListener

__all__ = [
    "ACCOUNT_RIGHTS", "DELEGATION_RIGHTS", "DIRECTORY", "GROUP_RIGHTS", "KINDS", "SPN_RIGHTS", "SYNC_FROM_FLAGS",
    "UAC_ACCOUNTDISABLE", "UAC_NOT_DELEGATED", "UAC_PARAMETERS", "UAC_TRUSTED_FOR_DELEGATION",
    "UAC_TRUSTED_TO_AUTH_FOR_DELEGATION", "WINRM_HTTPS_RULE", "AcceptAnyServerName", "AccountControlChange",
    "AclGrant", "Action", "ActionBase", "AddDelegationValues", "AddDirectoryGroupMember", "AddLocalGroupMember",
    "AllowDelegationFrom", "ClearNotDelegated", "ConfigureWinRMListener", "CreateFolder", "CreateShare",
    "DisableFirewallRules", "EnableAccount", "FixSection", "GrantNtfsRights", "GrantShareRights",
    "GroupMembershipChange", "InstallRole", "LeaveProtectedUsers", "ManualStep", "MoveSpn", "OpenFirewallPort",
    "Owner", "OwnerKind", "Phase", "RefreshTickets", "ReplicaAuthorization", "ReplicaServerSettings",
    "SetProtocolTransition", "SpnHolderRef", "StartService", "SyncTime", "file_server", "hyperv_host", "kinds_applied",
    "runs_on", "uac_after",
]
