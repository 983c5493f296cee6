"""Tokens as Windows builds them for a network logon on the server that holds a path.

The token of a domain account arriving over SMB holds: its own SID, its domain groups (tokenGroups,
transitive), Everyone, Authenticated Users and NETWORK, and then every local group (alias) of that
server containing any of those SIDs. Local groups do not nest other local groups on Windows, so one
pass over the server's aliases is complete.
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


def token_for(principal: Principal, server: HostFacts | None, sid_names: dict[str, str] | None = None) -> Token:
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
    for sid in principal.token_group_sids:
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


def member_of_local_group(principal: Principal, server: HostFacts | None, group_sid: str) -> Membership:
    """Direct membership or through nested domain groups (tokenGroups is already transitive)."""
    if server is None:
        return Membership(member=False, via=[])
    group = next((g for g in server.local_groups if g.sid.upper() == group_sid.upper()), None)
    if group is None:
        return Membership(member=False, via=[])
    mine = {s.upper() for s in [principal.object_sid or "", *principal.token_group_sids,
                                EVERYONE, AUTHENTICATED_USERS, NETWORK] if s}
    via = [m for m in group.member_sids if m.upper() in mine]
    return Membership(member=bool(via), via=via)
