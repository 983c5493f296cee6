"""Tokens as Windows builds them for a network logon on the server that holds a path.

The token of a domain account arriving over SMB holds: its own SID, its domain groups (tokenGroups,
transitive), Everyone, Authenticated Users and NETWORK, and then every local group (alias) of that
server containing any of those SIDs. Local groups do not nest other local groups on Windows, so one
pass over the server's aliases is complete.

tokenGroups, read from a domain controller, also lists the *DC's* builtin groups (S-1-5-32-…: an
account put into AD's Builtin Administrators group shows S-1-5-32-544 there). Those SIDs never travel to
a member server: its Administrators is its own local group. So on a member server they are
dropped and only the server's own aliases count; on a DC they are the server's groups and stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offlineprep.acl import AUTHENTICATED_USERS, EVERYONE, NETWORK, well_known_sid_name
from offlineprep.facts import HostFacts, Principal


@dataclass(frozen=True)
class Token:
    sids: tuple[str, ...]
    names: dict[str, str] = field(default_factory=dict)  # SID -> readable name where known
    local_groups: tuple[str, ...] = ()  # the server's aliases that were added

    def as_evidence(self) -> list[str]:
        return [f"{sid} ({self.names[sid]})" if sid in self.names else sid for sid in self.sids]


BUILTIN_PREFIX = "S-1-5-32-"


def domain_group_sids(principal: Principal, domain_controller: bool) -> list[str]:
    """tokenGroups as the server sees them: builtin SIDs only on a domain controller."""
    return [s for s in principal.token_group_sids
            if domain_controller or not s.upper().startswith(BUILTIN_PREFIX)]


def token_for(principal: Principal, server: HostFacts | None, sid_names: dict[str, str] | None = None,
              domain_controller: bool = False) -> Token:
    names: dict[str, str] = {}
    ordered: list[str] = []

    def add(sid: str | None, name: str | None = None) -> None:
        if not sid:
            return
        key = sid.upper()
        if key not in {s.upper() for s in ordered}:
            ordered.append(sid)
        label = name or (sid_names or {}).get(sid) or well_known_sid_name(sid)
        if label:
            names.setdefault(sid, label)

    add(principal.object_sid, principal.query)
    for sid in domain_group_sids(principal, domain_controller):
        add(sid)
    add(EVERYONE)
    add(AUTHENTICATED_USERS)
    add(NETWORK)
    domain_part = {s.upper() for s in ordered}
    aliases: list[str] = []
    for group in server.local_groups if server else []:
        if any(m.upper() in domain_part for m in group.member_sids):
            add(group.sid, group.name)
            aliases.append(group.sid)
    return Token(sids=tuple(ordered), names=names, local_groups=tuple(aliases))


@dataclass(frozen=True)
class Membership:
    member: bool
    via: list[str]  # the SIDs in the group that put the principal there (itself or a domain group)


def member_of_local_group(principal: Principal, server: HostFacts | None, group_sid: str,
                          domain_controller: bool = False) -> Membership:
    """Direct membership or through nested domain groups (tokenGroups is already transitive).

    On a domain controller the "local" groups are AD's builtin groups, which tokenGroups already
    expands: the group's SID in tokenGroups is membership even when its member list was not read.
    """
    if domain_controller and any(s.upper() == group_sid.upper() for s in principal.token_group_sids):
        return Membership(member=True, via=["tokenGroups"])
    if server is None:
        return Membership(member=False, via=[])
    group = next((g for g in server.local_groups if g.sid.upper() == group_sid.upper()), None)
    if group is None:
        return Membership(member=False, via=[])
    mine = {s.upper() for s in [principal.object_sid or "", *domain_group_sids(principal, domain_controller),
                                EVERYONE, AUTHENTICATED_USERS, NETWORK] if s}
    via = [m for m in group.member_sids if m.upper() in mine]
    return Membership(member=bool(via), via=via)
