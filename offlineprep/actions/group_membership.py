"""Direct memberships in a domain group, the group named by SID, one base and two kinds:
ad.leave-protected-users (out of Protected Users, RID 525) and ad.group-member (into a domain group,
a DC's Builtin\\Administrators when a share lives on a DC).

The fix reads the member's memberOf (direct memberships) and changes only what is still to change;
the revert does the opposite. apply writes the group's members over LDAP (apply.directory).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import DIRECTORY, ActionBase, ApplyWay, Owner, Phase, server_parameter
from offlineprep.pwsh import quote

GROUP_RIGHTS = "write access to the group's members (Domain Admins)"


class GroupMembershipChange(ActionBase):
    """A direct membership in a domain group, the group named by SID (its name is localised)."""

    group_sid: str
    member: str  # -Members: a DN, SID or sAMAccountName
    member_dn: str | None = None  # to read the member's memberOf (direct memberships)
    member_label: str = ""  # the account as the site file writes it, for messages

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)
    apply_way: ClassVar[ApplyWay | None] = "ldap"


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

    def written(self) -> tuple[str, str]:
        return self.member_dn or self.member, f"Remove from Protected Users ({self.group_sid})"

    def fix_lines(self) -> list[str]:
        return _leave_protected_users(self)

    def revert_lines(self) -> list[str]:
        return _rejoin_protected_users(self)

    def change(self) -> str:
        return f"{self.member_dn or self.member}: a member of {self.group_sid} -> not a member"


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

    def written(self) -> tuple[str, str]:
        return self.member_dn or self.member, f"Add to the group {self.group_sid}"

    def fix_lines(self) -> list[str]:
        return _group_member(self, add=True)

    def revert_lines(self) -> list[str]:
        return _group_member(self, add=False)

    def change(self) -> str:
        return f"{self.member_dn or self.member}: not a member of {self.group_sid} -> a member"


def _direct_membership(a: GroupMembershipChange) -> list[str]:
    server = server_parameter(a.owner)
    return [f"$group = Get-ADGroup -Identity {quote(a.group_sid)}{server}",
            f"$memberOf = @((Get-ADObject -Identity {quote(a.member_dn or '')} -Properties 'memberOf'{server}).memberOf)"]


def _leave_protected_users(a: LeaveProtectedUsers) -> list[str]:
    server = server_parameter(a.owner)
    remove = f"Remove-ADGroupMember -Identity {quote(a.group_sid)} -Members {quote(a.member)} -Confirm:$false{server}"
    if not a.member_dn:
        return [remove]
    nested = (f"{a.member_label or a.member} is in Protected Users through a nested group: take that group out of "
              "Protected Users, or the account out of that group (tokenGroups does not say which group)")
    return [*_direct_membership(a),
            f"if ($memberOf -contains $group.DistinguishedName) {{ {remove} }}",
            f"else {{ Write-Warning {quote(nested)} }}"]


def _rejoin_protected_users(a: LeaveProtectedUsers) -> list[str]:
    server = server_parameter(a.owner)
    add = f"Add-ADGroupMember -Identity {quote(a.group_sid)} -Members {quote(a.member)}{server}"
    if not a.member_dn:
        return [add]
    return [*_direct_membership(a), f"if ($memberOf -notcontains $group.DistinguishedName) {{ {add} }}"]


def _group_member(a: AddDirectoryGroupMember, add: bool) -> list[str]:
    server = server_parameter(a.owner)
    if add:
        change = f"Add-ADGroupMember -Identity {quote(a.group_sid)} -Members {quote(a.member)}{server}"
    else:
        change = (f"Remove-ADGroupMember -Identity {quote(a.group_sid)} -Members {quote(a.member)} "
                  f"-Confirm:$false{server}")
    if not a.member_dn:
        return [change]
    test = "-notcontains" if add else "-contains"
    return [*_direct_membership(a), f"if ($memberOf {test} $group.DistinguishedName) {{ {change} }}"]
