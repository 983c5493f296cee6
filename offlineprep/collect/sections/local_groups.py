"""Section `local_groups`: each local group's members by SID (ADSI WinNT), unreadable members kept by name."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import LocalGroup
from offlineprep.winrm.text import short


class MemberAnswer(Part):
    sid: str
    name: str | None = None  # the member's ADsPath, WinNT://DOMAIN/name or WinNT://S-1-5-...


class UnreadableMember(Part):
    name: str | None = None  # ADsPath, when that much could be read
    error: str | None = None


class LocalGroupAnswer(Part):
    sid: str
    name: str | None = None
    members: list_of(MemberAnswer) = Field(default_factory=list)  # type: ignore[valid-type]
    unreadable: list_of(UnreadableMember) = Field(default_factory=list)  # type: ignore[valid-type]
    error: str | None = None  # the group's member list could not be read at all


def facts(reading: Reading) -> dict[str, Any]:
    groups = []
    for g in reading.answer.local_groups or []:
        unreadable = [f"{m.name or 'a member'}: {short(m.error or 'unreadable')}" for m in g.unreadable]
        if g.error:
            unreadable.append(f"the members of {g.name or g.sid}: {short(g.error)}")
        groups.append(LocalGroup(sid=g.sid, name=g.name or g.sid, member_sids=[m.sid for m in g.members],
                                 member_names={m.sid: m.name for m in g.members if m.name},
                                 unreadable_members=unreadable))
    return {"local_groups": groups}


SECTION = Section("local_groups", {"local_groups": list_of(LocalGroupAnswer) | None}, facts)
