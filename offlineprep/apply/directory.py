"""AD steps over LDAP (ldap3): read the state, compare it with the plan, then one modify the DC
refuses if the state changed in between.

Every step reads what it is about to change first and compares it with the state the plan holds
(read when the plan was made): equal, it is changed; already the state the action leaves, nothing
is sent ("already"); anything else is refused as "changed since planned". Then the modify itself
carries the precondition: a flag change is ONE modify that deletes the old userAccountControl value
and adds the new one, and a multi-valued change adds or deletes exactly the values the action
names. A DC fails a modify "that attempts to delete an attribute that ... does not contain the
value specified in the deletion request" or to add a value already there (Microsoft, MS-ADTS
3.1.1.3.4.1.8, the behaviour LDAP_SERVER_PERMISSIVE_MODIFY_OID turns off; it is not sent here), and
the changes of one modify are applied together or not at all (RFC 4511 section 4.6). So a change
made by someone else between the read and the write is refused by the DC, never overwritten
(measured on Samba 4.17: noSuchAttribute for a stale userAccountControl, attributeOrValueExists).

Revert is the same in reverse: the state must still be the one apply left (read back and kept in
the record), then the recorded state before apply is written back the same way.

Rights: a DC refuses a change of TRUSTED_FOR_DELEGATION or TRUSTED_TO_AUTH_FOR_DELEGATION without
the SeEnableDelegationPrivilege of the account that asks ("Otherwise, the server MUST abort
processing and return STATUS_ACCESS_DENIED": MS-SAMR 3.1.1.8.10 userAccountControl), and Samba
refuses msDS-AllowedToDelegateTo the same way (measured: insufficientAccessRights "cannot be created
or changed without SePrivEnableDelegation"). Those answers become a message naming the right.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ldap3
from ldap3 import MODIFY_ADD, MODIFY_DELETE
from ldap3.core import exceptions as lx
from ldap3.utils.conv import escape_filter_chars

from offlineprep.actions import types as t
from offlineprep.apply.model import Outcome, StepRecord
from offlineprep.apply.states import (
    allowed_sids,
    descriptor_allowing,
    descriptor_without,
    folded,
    hex_uac,
    ldap_sid_filter,
    same_values,
    uac_target,
    wanted_flags,
)
from offlineprep.security_descriptor import DescriptorError, sid_from_bytes
from offlineprep.site import DirectoryConfig

log = logging.getLogger(__name__)

Connect = Callable[[DirectoryConfig, str | None], ldap3.Connection]
ADTD = "msDS-AllowedToDelegateTo"
RBCD = "msDS-AllowedToActOnBehalfOfOtherIdentity"
UAC = "userAccountControl"
SPN = "servicePrincipalName"
INSUFFICIENT_ACCESS_RIGHTS = 50
CONSTRAINT_VIOLATION = 19
DELEGATION_RIGHT = ("the right 'Enable computer and user accounts to be trusted for delegation' "
                    "(SeEnableDelegationPrivilege) on the domain controllers, which Administrators of the domain "
                    "(Domain Admins) hold by default")


@dataclass
class Done:
    """What one step did: its outcome, the state read before and after, and what was sent."""

    outcome: Outcome
    message: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    changes: list[str] = field(default_factory=list)


class _Would(Exception):
    """A read-only run (`Changer(preview=True)`) reached the write it would send: the step stops there."""

    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


class _Stop(Exception):
    """Ends a step with this outcome (refused, changed, gone)."""

    def __init__(self, outcome: Outcome, message: str, before: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.before = before


def connect_for_changes(config: DirectoryConfig, password: str | None, connect: Connect | None = None) -> Any:
    """A bound connection as the account for changes (`apply_user`, else `user`), able to write."""
    from offlineprep.collect import directory as reading

    conn = (connect or reading.connect)(config.model_copy(update={"user": config.apply_user or config.user}), password)
    # the collector opens its connections read-only, a guard against a stray write; this one exists to write
    conn.read_only = False
    return conn


def connect_for_reading(config: DirectoryConfig, password: str | None, connect: Connect | None = None) -> Any:
    """A bound connection as the read-only account (`user`), for a dry run and the read after a revert: the
    collector's own connection, opened read-only (ldap3 refuses a modify on it)."""
    from offlineprep.collect import directory as reading

    return (connect or reading.connect)(config, password)


def describe_connect_error(exc: BaseException, config: DirectoryConfig) -> str:
    from offlineprep.collect.directory import describe_ldap_error

    if isinstance(exc, _Stop):
        return exc.message

    return describe_ldap_error(exc, config.model_copy(update={"user": config.apply_user or config.user}))[1]


class Changer:
    """The AD steps of one run, over one bound connection. After a failure of the connection itself
    (`broken` set) no further step is attempted: the runner records them as not run."""

    def __init__(self, conn: Any, base_dn: str | None, account: str | None, *, preview: bool = False) -> None:
        self.conn = conn
        # preview: read the live state and decide as the run would, but send no modify (a dry run of apply or
        # revert, and the read after a revert that verifies what it put back)
        self.preview = preview
        self.base_dn = base_dn or self._default_naming_context()
        self.account = account or "the bind account"
        self.broken: str | None = None
        self._changes: list[str] = []
        self._in_flight: str | None = None
        self._state: dict[str, Any] | None = None  # the state the current step read, for the record

    # ------------------------------------------------------------------ entry points

    def apply(self, action: t.ActionBase) -> Done:
        return self._run(action, None)

    def revert(self, action: t.ActionBase, recorded: StepRecord) -> Done:
        return self._run(action, recorded)

    def _run(self, action: t.ActionBase, recorded: StepRecord | None) -> Done:
        self._changes, self._in_flight, self._state = [], None, None
        try:
            done = self._dispatch(action, recorded)
        except _Stop as stop:
            done = Done(stop.outcome, stop.message, before=stop.before or self._state)
        except _Would as would:  # a preview: the state read now is the one the step changes from
            done = Done(Outcome.APPLIED if recorded is None else Outcome.REVERTED, f"would send: {would.said}",
                        before=self._state)
        except (lx.LDAPCommunicationError, lx.LDAPResponseTimeoutError, lx.LDAPMaximumRetriesError, OSError) as exc:
            reason = f"the domain controller stopped answering ({type(exc).__name__})"
            self.broken = reason
            if self._in_flight is not None:
                done = Done(Outcome.UNKNOWN, f"{reason} after this change was sent: {self._in_flight}; whether the DC "
                            "made it is unknown (revert reads the state and restores it only where it is what the "
                            "change leaves)")
            elif self._changes:
                done = Done(Outcome.UNKNOWN, f"{reason} in the middle of this step; made before that: "
                            + "; ".join(self._changes))
            else:
                done = Done(Outcome.NOT_RUN, f"{reason} while the state was read: nothing was sent")
        except lx.LDAPOperationResult as exc:  # a read the DC refused
            done = Done(Outcome.FAILED, f"the domain controller refused to read: {exc.description}: "
                        f"{_short(exc.message or '')}; nothing was sent")
        done.changes = list(self._changes) + ([self._in_flight] if done.outcome is Outcome.UNKNOWN and self._in_flight
                                              else [])
        return done

    def _dispatch(self, action: t.ActionBase, recorded: StepRecord | None) -> Done:
        if isinstance(action, t.AddDelegationValues):
            return self._delegation_values(action, recorded)
        if isinstance(action, t.AccountControlChange):
            return self._account_control(action, recorded)
        if isinstance(action, t.LeaveProtectedUsers):
            return self._membership(action, recorded, leave=True)
        if isinstance(action, t.AddDirectoryGroupMember):
            return self._membership(action, recorded, leave=False)
        if isinstance(action, t.MoveSpn):
            return self._spn(action, recorded)
        if isinstance(action, t.AllowDelegationFrom):
            return self._rbcd(action, recorded)
        raise _Stop(Outcome.FAILED, f"apply does not write {action.kind} actions to AD")

    # ------------------------------------------------------------------ reading

    def _default_naming_context(self) -> str:
        self.conn.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["defaultNamingContext"])
        for item in self.conn.response or []:
            value = item.get("attributes", {}).get("defaultNamingContext")
            if value:
                return str(value[0] if isinstance(value, list) else value)
        raise _Stop(Outcome.FAILED, "the rootDSE names no defaultNamingContext: set base_dn in [directory]")

    def _search(self, flt: str, attributes: list[str], base: str | None = None,
                scope: Any = ldap3.SUBTREE) -> list[dict[str, Any]]:
        self.conn.search(base or self.base_dn, flt, search_scope=scope, attributes=attributes)
        return [e for e in self.conn.response or [] if e.get("type") == "searchResEntry"]

    def _one(self, flt: str, attributes: list[str], what: str) -> dict[str, Any]:
        found = self._search(flt, attributes)
        if not found:
            raise _Stop(Outcome.CHANGED, f"{what} is not in the directory any more: changed since planned; nothing was sent")
        if len(found) > 1:
            raise _Stop(Outcome.FAILED, f"{len(found)} objects match {what} ({'; '.join(str(e['dn']) for e in found)}): "
                        "nothing was sent")
        return found[0]

    def _read(self, dn: str, attributes: list[str]) -> dict[str, Any]:
        found = self._search("(objectClass=*)", attributes, base=dn, scope=ldap3.BASE)
        if not found:
            raise _Stop(Outcome.CHANGED, f"{dn} is not in the directory any more; nothing was sent")
        return found[0]

    def _computer(self, identity: str, attributes: list[str]) -> dict[str, Any]:
        if "=" in identity and "," in identity:  # a DN
            return self._read(identity, attributes)
        sam = identity if identity.endswith("$") else identity + "$"
        return self._one(f"(&(objectClass=computer)(sAMAccountName={escape_filter_chars(sam)}))", attributes,
                         f"the computer account {sam}")

    def _account(self, identity: str, computer: bool, attributes: list[str]) -> dict[str, Any]:
        if computer:
            return self._computer(identity, attributes)
        if "=" in identity and "," in identity:
            return self._read(identity, attributes)
        return self._one(f"(sAMAccountName={escape_filter_chars(identity)})", attributes, f"the account {identity}")

    def _by_sid(self, sid: str, attributes: list[str], what: str) -> dict[str, Any]:
        return self._one(ldap_sid_filter(sid), attributes, what)

    # ------------------------------------------------------------------ writing

    def _modify(self, dn: str, changes: dict[str, list[tuple[Any, list[Any]]]], action: t.ActionBase,
                still_as_read: Callable[[], bool]) -> None:
        """One modify; a refusal is explained (rights) or, when the state is no longer the one read, reported
        as changed since it was read: the DC refused to overwrite it."""
        said = f"modify {dn}: " + "; ".join(f"{_verb(op)} {attr} {_show(values)}" for attr, ops in changes.items()
                                            for op, values in ops)
        if self.preview:
            raise _Would(said)
        self._in_flight = said
        try:
            self.conn.modify(dn, changes)
        except lx.LDAPOperationResult as exc:
            self._in_flight = None
            if not still_as_read():
                raise _Stop(Outcome.CHANGED, f"changed between the read and the write: the domain controller refused "
                            f"the change ({exc.description}: {_short(exc.message or '')}), so nothing was overwritten"
                            ) from None
            raise _Stop(Outcome.FAILED, self._refusal(exc, action, dn)) from None
        self._in_flight = None
        self._changes.append(said)

    def _refusal(self, exc: lx.LDAPOperationResult, action: t.ActionBase, dn: str) -> str:
        text = _short(exc.message or exc.description or "")
        said = f"(the domain controller answered {exc.description}: {text})"
        mentions_privilege = any(w in text.casefold() for w in ("enabledelegation", "delegationprivilege",
                                                               "privenabledelegation"))
        if exc.result == INSUFFICIENT_ACCESS_RIGHTS and mentions_privilege:
            return f"insufficient rights: {self.account} lacks {DELEGATION_RIGHT}; this change needs it {said}"
        if exc.result == INSUFFICIENT_ACCESS_RIGHTS:
            return (f"insufficient rights: {self.account} may not make this change on {dn}; it needs {action.rights} "
                    f"{said}")
        if isinstance(action, t.AllowDelegationFrom) and exc.result == CONSTRAINT_VIOLATION:
            return (f"the domain controller does not let {RBCD} be written over LDAP {said}: Samba 4.17 allows only "
                    "the DC itself to write it ('can only be modified as system'); set it on the DC (samba-tool "
                    "delegation add-principal), or against a Windows DC with the fix script's AD step "
                    "(Set-ADComputer -PrincipalsAllowedToDelegateToAccount)")
        if exc.result == CONSTRAINT_VIOLATION and isinstance(action, t.AddDelegationValues | t.SetProtocolTransition):
            return f"the domain controller refused the change {said}; it needs {DELEGATION_RIGHT}"
        return f"the domain controller refused the change {said}; nothing was changed"

    # ------------------------------------------------------------------ msDS-AllowedToDelegateTo

    def _delegation_values(self, a: t.AddDelegationValues, recorded: StepRecord | None) -> Done:
        entry = self._computer(a.computer, [ADTD])
        dn, values = str(entry["dn"]), _strings(entry, ADTD)
        state = self._state = {ADTD: values}
        planned_after = a.after or [*a.before, *a.values]

        def still() -> bool:
            return same_values(_strings(self._read(dn, [ADTD]), ADTD), values)

        if recorded is None:
            # nothing to add is nothing to do, whatever else is there (a later step of the plan may add more)
            if folded(a.values) <= folded(values):
                return Done(Outcome.ALREADY, f"{ADTD} of {a.computer} already holds {', '.join(a.values)}", state, state)
            if not same_values(values, a.before):
                raise _Stop(Outcome.CHANGED, f"{ADTD} of {a.computer} holds {_show(values)} now, {_show(a.before)} when "
                            "planned: changed since planned; nothing was sent", state)
            adding = [v for v in a.values if v.casefold() not in folded(values)]
            self._modify(dn, {ADTD: [(MODIFY_ADD, adding)]}, a, still)
            after = {ADTD: _strings(self._read(dn, [ADTD]), ADTD)}
            return Done(Outcome.APPLIED, f"added {', '.join(adding)} to {ADTD} of {a.computer}", state, after)
        left = (recorded.after or {}).get(ADTD, planned_after)
        was = (recorded.before or {}).get(ADTD, a.before)
        if same_values(values, was):
            return Done(Outcome.AS_BEFORE, f"{ADTD} of {a.computer} is already as before apply", state, state)
        if not same_values(values, left):
            raise _Stop(Outcome.CHANGED, f"{ADTD} of {a.computer} holds {_show(values)} now, {_show(left)} when apply "
                        "left it: changed since applied; left alone", state)
        # exactly the values apply added, spelled as stored (a delete names a value as the DC holds it)
        removing = [v for v in values if v.casefold() in folded(a.values) and v.casefold() not in folded(was)]
        self._modify(dn, {ADTD: [(MODIFY_DELETE, removing)]}, a, still)
        after = {ADTD: _strings(self._read(dn, [ADTD]), ADTD)}
        return Done(Outcome.REVERTED, f"removed {', '.join(removing)} from {ADTD} of {a.computer}", state, after)

    # ------------------------------------------------------------------ userAccountControl

    def _account_control(self, a: t.AccountControlChange, recorded: StepRecord | None) -> Done:
        entry = self._account(a.account, a.computer, [UAC])
        dn, now = str(entry["dn"]), _integer(entry, UAC)
        state = self._state = {UAC: now}
        if now is None:
            raise _Stop(Outcome.FAILED, f"{a.account} has no readable userAccountControl: nothing was sent", state)

        def still() -> bool:
            return _integer(self._read(dn, [UAC]), UAC) == now

        # Bits, not values: what is written is the value read now with only the bits the action's type owns
        # flipped (apply.states.uac_target / uac_restored). No userAccountControl from the plan or the record
        # is ever written: a file can make a step refuse, never set another flag (unconstrained delegation
        # 0x80000, DONT_REQ_PREAUTH 0x400000, a DC's SERVER_TRUST_ACCOUNT).
        if recorded is None:
            if a.before_uac is None:
                raise _Stop(Outcome.FAILED, "the plan holds no userAccountControl read before: make the plan again "
                            "(nothing was sent)", state)
            if all(bool(now & bit) == on for bit, on in wanted_flags(a).items()):
                return Done(Outcome.ALREADY, f"userAccountControl of {a.account} is already {hex_uac(now)}", state, state)
            if now != a.before_uac:
                raise _Stop(Outcome.CHANGED, f"userAccountControl of {a.account} is {hex_uac(now)} now, "
                            f"{hex_uac(a.before_uac)} when planned: changed since planned; nothing was sent", state)
            target, outcome = uac_target(now, a), Outcome.APPLIED
        else:
            target, outcome = _uac_inverse(a, now, state), Outcome.REVERTED
        # one modify: delete the value read, add the new one; a concurrent change makes the delete fail
        self._modify(dn, {UAC: [(MODIFY_DELETE, [str(now)]), (MODIFY_ADD, [str(target)])]}, a, still)
        after = {UAC: _integer(self._read(dn, [UAC]), UAC)}
        return Done(outcome, f"userAccountControl of {a.account}: {hex_uac(now)} -> {hex_uac(after[UAC])}", state, after)

    # ------------------------------------------------------------------ group membership

    def _membership(self, a: t.GroupMembershipChange, recorded: StepRecord | None, *, leave: bool) -> Done:
        group = self._by_sid(a.group_sid, ["distinguishedName"], f"the group {a.group_sid}")
        group_dn = str(group["dn"])
        member = self._member(a)
        member_dn = str(member["dn"])
        who = a.member_dn or a.member  # what is written, never a label (docs/security.md)

        def direct() -> bool:
            found = self._read(member_dn, ["memberOf"])
            return any(_dn_key(g) == _dn_key(group_dn) for g in _strings(found, "memberOf"))

        is_direct = direct()
        state: dict[str, Any] = {"direct_member": is_direct}
        self._state = state
        if leave:
            token = [sid for v in _raw(self._read(member_dn, ["tokenGroups"]), "tokenGroups") if (sid := _sid(v))]
            state["member"] = is_direct or any(s.upper() == a.group_sid.upper() for s in token)
        wanted = not leave  # the direct membership the action leaves
        group_label = a.group_sid

        def still() -> bool:
            return direct() == is_direct

        if recorded is None:
            if is_direct == wanted and not (leave and state.get("member")):
                return Done(Outcome.ALREADY, f"{who} is already {'out of' if leave else 'in'} {group_label}", state, state)
            if leave and not is_direct:
                raise _Stop(Outcome.FAILED, f"{who} is in {group_label} through a nested group, not directly: take that "
                            "group out of it, or the account out of that group (tokenGroups does not say which); "
                            "nothing was sent", state)
            op, outcome = (MODIFY_DELETE if leave else MODIFY_ADD), Outcome.APPLIED
        else:
            # by type, whatever the record says it was: a membership added is removed, one removed added back
            if is_direct != wanted:
                return Done(Outcome.AS_BEFORE, f"{who}'s membership of {group_label} is already as before apply",
                            state, state)
            op, outcome = (MODIFY_ADD if leave else MODIFY_DELETE), Outcome.REVERTED
        self._modify(group_dn, {"member": [(op, [member_dn])]}, a, still)
        after = {"direct_member": direct()}
        verb = "removed from" if op == MODIFY_DELETE else "added to"
        return Done(outcome, f"{who} {verb} {group_label}", state, after)

    def _member(self, a: t.GroupMembershipChange) -> dict[str, Any]:
        if a.member_dn:
            return self._read(a.member_dn, ["distinguishedName"])
        if a.member.upper().startswith("S-1-"):
            return self._by_sid(a.member, ["distinguishedName"], f"the account {a.member}")
        return self._account(a.member, False, ["distinguishedName"])

    # ------------------------------------------------------------------ SPNs

    def _spn(self, a: t.MoveSpn, recorded: StepRecord | None) -> Done:
        names = sorted({a.spn.casefold(), *(h.spn.casefold() for h in [*a.before, *a.remove_from])})
        target = str(self._computer(a.add_to, ["distinguishedName"])["dn"]) if a.add_to else None

        def holders() -> list[dict[str, str]]:
            flt = "(|" + "".join(f"({SPN}={escape_filter_chars(n)})" for n in names) + ")"
            out = []
            for entry in self._search(flt, [SPN]):
                for value in _strings(entry, SPN):
                    if value.casefold() in names:
                        out.append({"dn": str(entry["dn"]), "spn": value})
            return sorted(out, key=lambda h: (h["dn"].casefold(), h["spn"].casefold()))

        def pairs(items: list[dict[str, str]]) -> set[tuple[str, str]]:
            return {(_dn_key(h["dn"]), h["spn"].casefold()) for h in items}

        now = holders()
        state = self._state = {"holders": now}
        before = {(_dn_key(h.distinguished_name), h.spn.casefold()) for h in a.before}
        removed = {(_dn_key(h.distinguished_name), h.spn.casefold()) for h in a.remove_from}
        after = (before - removed) | ({(_dn_key(target), a.spn.casefold())} if target else set())

        def still() -> bool:
            return pairs(holders()) == pairs(now)

        if recorded is None:
            if pairs(now) == after:
                return Done(Outcome.ALREADY, f"{a.spn} is already held as the action leaves it", state, state)
            if pairs(now) != before:
                raise _Stop(Outcome.CHANGED, f"the holders of {', '.join(names)} are {_holders(now)} now, "
                            f"{_holders([{'dn': h.distinguished_name, 'spn': h.spn} for h in a.before])} when planned: "
                            "changed since planned; nothing was sent", state)
            stored = {(_dn_key(h["dn"]), h["spn"].casefold()): h["spn"] for h in now}
            for ref in a.remove_from:  # removals first: a DC refuses a duplicate SPN
                value = stored.get((_dn_key(ref.distinguished_name), ref.spn.casefold()), ref.spn)
                self._modify(ref.distinguished_name, {SPN: [(MODIFY_DELETE, [value])]}, a, still)
            if target:
                self._modify(target, {SPN: [(MODIFY_ADD, [a.spn])]}, a, still)
            return Done(Outcome.APPLIED, "; ".join(self._changes), state, {"holders": holders()})
        if a.remove_from or not target:
            return Done(Outcome.NOT_REVERTIBLE, "a move of an SPN is not undone: putting it back on the wrong holder "
                        "breaks the name again (docs/fixes.md)", state)
        left = pairs(recorded.after["holders"]) if recorded.after else after
        if pairs(now) == before:
            return Done(Outcome.AS_BEFORE, f"{a.spn} is already as before apply", state, state)
        if pairs(now) != left:
            raise _Stop(Outcome.CHANGED, f"the holders of {a.spn} are {_holders(now)} now: changed since applied; left "
                        "alone", state)
        value = next((h["spn"] for h in now if _dn_key(h["dn"]) == _dn_key(target)
                      and h["spn"].casefold() == a.spn.casefold()), a.spn)
        self._modify(target, {SPN: [(MODIFY_DELETE, [value])]}, a, still)
        return Done(Outcome.REVERTED, f"unregistered {a.spn} from {target}", state, {"holders": holders()})

    # ------------------------------------------------------------------ resource-based delegation

    def _rbcd(self, a: t.AllowDelegationFrom, recorded: StepRecord | None) -> Done:
        if a.computer_domain:
            raise _Stop(Outcome.FAILED, f"{a.computer}'s account is in {a.computer_domain}, the hosts it allows in "
                        "another domain: apply writes resource-based delegation only within one domain; nothing was "
                        "sent")
        entry = self._computer(a.computer, [RBCD])
        dn = str(entry["dn"])
        blob = _first_raw(entry, RBCD)
        try:
            allowed = allowed_sids(blob)
        except ValueError as exc:
            raise _Stop(Outcome.FAILED, f"{exc}: nothing was sent") from None
        state = self._state = {"allowed": allowed, "descriptor": _b64(blob)}

        def still() -> bool:
            return _first_raw(self._read(dn, [RBCD]), RBCD) == blob

        if recorded is None:
            sids = [self._object_sid(self._computer(p, ["objectSid"]), p) for p in a.principals]
            wanted = folded([*a.before, *sids])
            if folded(allowed) == wanted:
                return Done(Outcome.ALREADY, f"{a.computer} already allows {', '.join(a.principals)}", state, state)
            if folded(allowed) != folded(a.before):
                raise _Stop(Outcome.CHANGED, f"{a.computer} allows {_show(allowed)} now, {_show(a.before)} when planned: "
                            "changed since planned; nothing was sent", state)
            new = descriptor_allowing(blob, sids)
            outcome = Outcome.APPLIED
        else:
            left = (recorded.after or {}).get("descriptor")
            old = (recorded.before or {}).get("descriptor") if recorded.before else None
            if _b64(blob) == old:
                return Done(Outcome.AS_BEFORE, f"{RBCD} of {a.computer} is already as before apply", state, state)
            if recorded.after is None or _b64(blob) != left:
                raise _Stop(Outcome.CHANGED, f"{RBCD} of {a.computer} is not what apply left: changed since applied; "
                            "left alone", state)
            # by type: the allow entries of the hosts this step added come out of the descriptor read now;
            # every other entry stays (never the record's "before" descriptor written back)
            added = [self._object_sid(self._computer(p, ["objectSid"]), p) for p in a.principals]
            added = [sid for sid in added if sid.upper() not in {s.upper() for s in a.before}]
            new = descriptor_without(blob, added) if blob else b""
            outcome = Outcome.REVERTED
        ops: list[tuple[Any, list[Any]]] = [(MODIFY_DELETE, [blob])] if blob else []
        if new:
            ops.append((MODIFY_ADD, [new]))
        self._modify(dn, {RBCD: ops}, a, still)
        after_blob = _first_raw(self._read(dn, [RBCD]), RBCD)
        return Done(outcome, f"{a.computer} allows {_show(allowed_sids(after_blob))}", state,
                    {"allowed": allowed_sids(after_blob), "descriptor": _b64(after_blob)})

    @staticmethod
    def _object_sid(entry: dict[str, Any], name: str) -> str:
        raw = _first_raw(entry, "objectSid")
        if raw is None:
            raise _Stop(Outcome.FAILED, f"the account of {name} has no readable objectSid: nothing was sent")
        try:
            return sid_from_bytes(raw)[0]
        except DescriptorError as exc:
            raise _Stop(Outcome.FAILED, f"the account of {name} has no readable objectSid ({exc}): nothing was "
                        "sent") from None


# --------------------------------------------------------------------------- revert by type


def _uac_inverse(a: t.AccountControlChange, now: int, state: dict[str, Any]) -> int:
    """The value revert writes: the one read now with only the bits the kind owns put back (`inverse`),
    never the record's "before" value (a record is a file anyone with write access to it may edit:
    docs/security.md). The owned bits must still be as apply left them; else left alone."""
    inverse = a.inverse()
    if not inverse:
        raise _Stop(Outcome.NOT_REVERTIBLE, a.not_reverted(), state)
    if all(bool(now & bit) == on for bit, on in inverse.items()):
        raise _Stop(Outcome.AS_BEFORE, f"userAccountControl of {a.account} is already {hex_uac(now)}: the bits "
                    "apply changed are as before apply", state)
    left = {bit: not on for bit, on in inverse.items()}
    if not all(bool(now & bit) == on for bit, on in left.items()):
        raise _Stop(Outcome.CHANGED, f"userAccountControl of {a.account} is {hex_uac(now)} now: the bits apply set are "
                    "not as apply left them: changed since applied; left alone", state)
    value = now
    for bit, on in inverse.items():
        value = value | bit if on else value & ~bit
    return value


# --------------------------------------------------------------------------- values


def _strings(entry: dict[str, Any], name: str) -> list[str]:
    value = entry.get("attributes", {}).get(name)
    if value is None or value == []:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _integer(entry: dict[str, Any], name: str) -> int | None:
    values = _strings(entry, name)
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


def _raw(entry: dict[str, Any], name: str) -> list[bytes]:
    return [bytes(v) for v in entry.get("raw_attributes", {}).get(name) or [] if isinstance(v, (bytes, bytearray))]


def _first_raw(entry: dict[str, Any], name: str) -> bytes | None:
    values = _raw(entry, name)
    return values[0] if values else None


def _sid(value: bytes) -> str | None:
    """A SID value as text; None for bytes that are no SID (MS-DTYP 2.4.2.2), which match nothing."""
    if value[:4] == b"S-1-":
        return value.decode("ascii", "replace")
    try:
        return sid_from_bytes(value)[0]
    except DescriptorError:
        log.warning("a SID value cannot be read: %r", value[:16])
        return None


def _b64(blob: bytes | None) -> str | None:
    return base64.b64encode(blob).decode("ascii") if blob else None


def _dn_key(dn: str) -> str:
    return ",".join(part.strip().casefold() for part in dn.split(","))


def _verb(op: Any) -> str:
    return {MODIFY_ADD: "add", MODIFY_DELETE: "delete"}.get(op, str(op))


def _show(values: Any) -> str:
    if isinstance(values, (list, tuple)):
        shown = [f"<{len(v)} bytes>" if isinstance(v, (bytes, bytearray)) else str(v) for v in values]
        return "[" + ", ".join(shown) + "]"
    return str(values)


def _holders(items: list[dict[str, str]]) -> str:
    return "[" + ", ".join(f"{h['spn']} on {h['dn']}" for h in items) + "]" if items else "nobody"


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
