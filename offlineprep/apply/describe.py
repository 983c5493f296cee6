"""Plan steps in words: where each runs, what it changes from which state to which, and the rights it
needs. Plain text (the CLI escapes and styles it), so the dry run, the record and the docs say the same.

Words come from the values a step writes (each kind's `describe` and `change` say only those: an
account's SID or DN, a group's SID, the rights mask), never from a label the file carries: a plan is
a file anyone with write access to it may edit (docs/security.md). Every SID and DN in the words is
shown with the name it resolves to now (`Names`, from the directory as this run read it), so "add
S-1-5-21-…-512" reads "(LAB\\Domain Admins)" whatever a label in the file says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from offlineprep.actions import types as t
from offlineprep.apply.model import How, Plan, Step
from offlineprep.facts import ComputerAccount, Facts, Principal

SID_TEXT = re.compile(r"\bS-1-\d+(?:-\d+)+\b", re.IGNORECASE)
DN_TEXT = re.compile(r"\b(?:CN|OU)=(?:[^,;=\\]|\\.)+(?:,\s*(?:CN|OU|DC)=(?:[^,;=\\]|\\.)+)+", re.IGNORECASE)

# SIDs every Windows machine and domain names the same way (MS-DTYP 2.4.2.4, well-known SID structures)
WELL_KNOWN = {
    "S-1-1-0": "Everyone", "S-1-5-11": "Authenticated Users", "S-1-5-18": "SYSTEM",
    "S-1-5-32-544": "BUILTIN\\Administrators", "S-1-5-32-545": "BUILTIN\\Users",
    "S-1-5-32-548": "BUILTIN\\Account Operators", "S-1-5-32-549": "BUILTIN\\Server Operators",
    "S-1-5-32-551": "BUILTIN\\Backup Operators", "S-1-5-32-578": "BUILTIN\\Hyper-V Administrators",
    "S-1-5-32-580": "BUILTIN\\Remote Management Users",
}
DOMAIN_RIDS = {500: "Administrator", 502: "krbtgt", 512: "Domain Admins", 513: "Domain Users",
               515: "Domain Computers", 516: "Domain Controllers", 518: "Schema Admins", 519: "Enterprise Admins",
               520: "Group Policy Creator Owners", 525: "Protected Users", 526: "Key Admins",
               527: "Enterprise Key Admins"}


@dataclass
class Names:
    """SIDs and DNs to the names they resolve to now (the directory as this run read it)."""

    sids: dict[str, str] = field(default_factory=dict)  # upper-case SID -> DOMAIN\\name
    dns: dict[str, str] = field(default_factory=dict)  # folded DN -> DOMAIN\\name
    domains: dict[str, str] = field(default_factory=dict)  # upper-case domain SID -> NetBIOS name

    def sid(self, sid: str) -> str:
        key = sid.upper()
        if key in self.sids:
            return self.sids[key]
        if key in WELL_KNOWN:
            return WELL_KNOWN[key]
        domain, _, rid = key.rpartition("-")
        if domain in self.domains and rid.isdigit() and int(rid) in DOMAIN_RIDS:
            return f"{self.domains[domain]}\\{DOMAIN_RIDS[int(rid)]}"
        return "not found in the directory now"

    def dn(self, dn: str) -> str:
        return self.dns.get(_dn_key(dn), "not found in the directory now")

    def said(self, text: str) -> str:
        """`text` with each SID and DN followed by the name it resolves to now."""
        text = SID_TEXT.sub(lambda m: f"{m.group(0)} ({self.sid(m.group(0))})", text)
        return DN_TEXT.sub(lambda m: f"{m.group(0)} ({self.dn(m.group(0))})", text)


def names_from(facts: Facts | None) -> Names:
    """What this run's collection resolves: every account, computer and SID name the directories read."""
    names = Names()
    for directory in (facts.directories or {}).values() if facts is not None else ():
        netbios = directory.netbios_name or (directory.domain_dns_name or "").split(".")[0].upper()
        if directory.domain_sid:
            names.domains[directory.domain_sid.upper()] = netbios
        for sid, name in directory.sid_names.items():
            names.sids[sid.upper()] = name
        accounts: list[ComputerAccount | Principal] = [*directory.computers.values(), *directory.principals.values()]
        for account in accounts:
            if not account.found or not account.sam_account_name:
                continue
            name = f"{netbios}\\{account.sam_account_name}"
            if account.object_sid:
                names.sids.setdefault(account.object_sid.upper(), name)
            if account.distinguished_name:
                names.dns.setdefault(_dn_key(account.distinguished_name), name)
        for holders in directory.spn_holders.values():
            for holder in holders:
                if holder.sam_account_name:
                    names.dns.setdefault(_dn_key(holder.distinguished_name), f"{netbios}\\{holder.sam_account_name}")
    for host in (facts.hosts or {}).values() if facts is not None else ():
        for group in host.local_groups:
            names.sids.setdefault(group.sid.upper(), group.name)
    return names


def _dn_key(dn: str) -> str:
    return ",".join(part.strip().casefold() for part in dn.split(","))


def where(step: Step, directory_server: str | None) -> str:
    if step.how is How.DIRECTORY:
        return f"AD ({directory_server})" if directory_server else "AD"
    owner = step.action.owner
    return owner.name if owner is not None and owner.name else "-"


def what(action: t.ActionBase, names: Names | None = None) -> str:
    target, doing = action.written()
    if isinstance(action, t.ManualStep):
        return doing
    owner = action.owner
    if owner is not None and owner.kind != "directory" and owner.name:
        # the machine is said where the step runs: `fs01: share X` reads as `share X`
        target = target.removeprefix(f"{owner.name}: ").removeprefix(owner.name)
    text = f"{target}: {doing}" if target else doing
    return names.said(text) if names is not None else text


def change(action: t.ActionBase, names: Names | None = None) -> str:
    """From which state to which, from the values the step writes (each kind says it: its module's `change`)."""
    text = action.change()
    return names.said(text) if names is not None else text


def rights(action: t.ActionBase) -> str:
    """What the account needs for apply to carry the action out (apply runs no repadmin: the ticket purge
    is the host's own)."""
    return action.apply_rights()


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
