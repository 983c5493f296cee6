"""userAccountControl changes, one base and three kinds: ad.protocol-transition ("Use any
authentication protocol", and unconstrained delegation off), ad.clear-not-delegated ("Account is
sensitive and cannot be delegated" off) and ad.enable-account.

Made with Set-ADAccountControl (Enable-ADAccount for the disabled flag); the revert writes back
each flag the fix changed, as read. apply writes userAccountControl over LDAP (apply.directory),
chained with the other steps on the same account.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from offlineprep.actions.base import DELEGATION_RIGHTS, DIRECTORY, ActionBase, ApplyWay, Owner, Phase, server_parameter
from offlineprep.pwsh import quote

# userAccountControl bits an action changes (KB 305144; docs/fixes.md) and the Set-ADAccountControl
# parameter that sets each one (Set-ADAccountControl docs: -TrustedForDelegation,
# -TrustedToAuthForDelegation, -AccountNotDelegated)
UAC_ACCOUNTDISABLE = 0x2
UAC_TRUSTED_FOR_DELEGATION = 0x80000
UAC_NOT_DELEGATED = 0x100000
UAC_TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000
UAC_PARAMETERS = {
    UAC_TRUSTED_FOR_DELEGATION: "TrustedForDelegation",
    UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: "TrustedToAuthForDelegation",
    UAC_NOT_DELEGATED: "AccountNotDelegated",
}

# the flags' names (Microsoft, "User-Account-Control attribute" / ADS_USER_FLAG_ENUM:
# https://learn.microsoft.com/windows/win32/adschema/a-useraccountcontrol), for the messages that name what a type owns
UAC_NAMES = {UAC_ACCOUNTDISABLE: "ACCOUNTDISABLE", UAC_TRUSTED_FOR_DELEGATION: "TRUSTED_FOR_DELEGATION",
             UAC_NOT_DELEGATED: "NOT_DELEGATED", UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: "TRUSTED_TO_AUTH_FOR_DELEGATION"}

ACCOUNT_RIGHTS = "write access to the account's userAccountControl (Domain Admins or Account Operators)"
# the flags in words, for the plan's "from which state to which"
UAC_WORDS = {UAC_ACCOUNTDISABLE: "disabled", UAC_TRUSTED_FOR_DELEGATION: "unconstrained delegation",
             UAC_NOT_DELEGATED: "sensitive, cannot be delegated",
             UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: "any authentication protocol"}


class AccountControlChange(ActionBase):
    """A change of userAccountControl flags, made with Set-ADAccountControl (or Enable-ADAccount)."""

    account: str  # the identity: sAMAccountName (a computer's without its $)
    computer: bool = False  # a computer account: found with Get-ADComputer
    before_uac: int | None = None  # userAccountControl as read
    after_uac: int | None = None

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)
    flags: ClassVar[dict[int, bool]] = {}  # the flags this action sets (True) or clears (False)
    apply_way: ClassVar[ApplyWay | None] = "ldap"

    @model_validator(mode="after")
    def _after_is_the_owned_bits_flipped(self) -> AccountControlChange:
        """A plan or record cannot say another userAccountControl: `after_uac` is `before_uac` with only
        the bits this type owns flipped (`wanted`), or unknown. apply never writes it anyway (it flips the
        owned bits on the value it reads live: apply.states.uac_target); a file that says otherwise is
        refused when it is read, naming the bits the type owns."""
        if self.after_uac is None:
            return self
        expected = uac_after(self.before_uac, self.wanted())
        if expected != self.after_uac:
            owned = ", ".join(UAC_NAMES[bit] for bit in sorted(self.wanted()))
            raise ValueError(f"{self.kind}: userAccountControl after {_hex(self.after_uac)} is not the value read "
                             f"({_hex(self.before_uac)}) with only the bits this type changes ({owned})")
        return self

    def changes(self) -> dict[int, bool]:
        """The flags to write: those whose value differs from what was read (all, if unknown)."""
        if self.before_uac is None:
            return dict(self.flags)
        return {bit: on for bit, on in self.flags.items() if bool(self.before_uac & bit) != on}

    def restores(self) -> dict[int, bool]:
        """What the revert writes back: each flag the fix changed, as it was read (the opposite of
        what the fix wrote when nothing was read)."""
        out = {}
        for bit, on in self.changes().items():
            was = bool(self.before_uac & bit) if self.before_uac is not None else not on
            if was != on:
                out[bit] = was
        return out

    def wanted(self) -> dict[int, bool]:
        """The userAccountControl flags the action sets (True) or clears (False)."""
        return dict(self.flags)

    def fix_lines(self) -> list[str]:
        return _account_control(self, self.changes())

    def revert_lines(self) -> list[str]:
        return _account_control(self, self.restores())

    def change(self) -> str:
        return f"userAccountControl: {_uac(self.before_uac)} -> {_uac(self.after_uac)}"

    def chain_key(self) -> tuple[str, str] | None:
        return ("userAccountControl", self.account.casefold())

    def chained(self, states: dict[Any, Any]) -> ActionBase | None:
        """userAccountControl as the steps before it leave it (only when it was read)."""
        if self.before_uac is None:
            return self
        key = (self.account.casefold(), self.computer)
        before = states.get(key, self.before_uac)
        after = uac_after(before, self.wanted())
        states[key] = after if after is not None else before
        return self.rebuilt(before_uac=before, after_uac=after)


def uac_after(before: int | None, flags: dict[int, bool]) -> int | None:
    if before is None:
        return None
    value = before
    for bit, on in flags.items():
        value = value | bit if on else value & ~bit
    return value


def _hex(value: int | None) -> str:
    return "unknown" if value is None else f"0x{value:X}"


def _uac(value: int | None) -> str:
    if value is None:
        return "unknown"
    words = [name for bit, name in UAC_WORDS.items() if value & bit]
    return f"0x{value:X}" + (f" ({', '.join(words)})" if words else "")


class SetProtocolTransition(AccountControlChange):
    """'Use any authentication protocol' (TRUSTED_TO_AUTH_FOR_DELEGATION) on a computer; with
    `clear_unconstrained`, also unconstrained delegation (TRUSTED_FOR_DELEGATION) off."""

    kind: Literal["ad.protocol-transition"] = "ad.protocol-transition"
    owner: Owner | None = DIRECTORY
    rights: str = DELEGATION_RIGHTS
    computer: bool = True
    clear_unconstrained: bool = False

    def changes(self) -> dict[int, bool]:
        wanted = {UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: True}
        if self.clear_unconstrained:
            wanted[UAC_TRUSTED_FOR_DELEGATION] = False
        if self.before_uac is None:
            return wanted
        return {bit: on for bit, on in wanted.items() if bool(self.before_uac & bit) != on} or wanted

    def describe(self) -> tuple[str, str]:
        what = "Turn on 'Use any authentication protocol'"
        return self.account, what + (" and turn off unconstrained delegation" if self.clear_unconstrained else "")

    def wanted(self) -> dict[int, bool]:
        wanted = {UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: True}
        if self.clear_unconstrained:
            wanted[UAC_TRUSTED_FOR_DELEGATION] = False
        return wanted


class ClearNotDelegated(AccountControlChange):
    """Clear 'Account is sensitive and cannot be delegated' (NOT_DELEGATED)."""

    kind: Literal["ad.clear-not-delegated"] = "ad.clear-not-delegated"
    owner: Owner | None = DIRECTORY
    rights: str = ACCOUNT_RIGHTS
    flags: ClassVar[dict[int, bool]] = {UAC_NOT_DELEGATED: False}

    def describe(self) -> tuple[str, str]:
        return self.account, "Clear 'Account is sensitive and cannot be delegated'"


class EnableAccount(AccountControlChange):
    """Enable a disabled account. Not reverted: disabling a Hyper-V host's or the VMM service's
    account again would break them, which is never what undoing a preflight fix means."""

    kind: Literal["ad.enable-account"] = "ad.enable-account"
    owner: Owner | None = DIRECTORY
    rights: str = ACCOUNT_RIGHTS
    flags: ClassVar[dict[int, bool]] = {UAC_ACCOUNTDISABLE: False}
    revertible: ClassVar[bool] = False

    def describe(self) -> tuple[str, str]:
        return self.account, "Enable the account"

    def not_reverted(self) -> str:
        return "not undone: disabling a host's or the VMM service's account again breaks them (docs/fixes.md)"


def _account_control(a: AccountControlChange, flags: dict[int, bool]) -> list[str]:
    server = server_parameter(a.owner)
    lines = []
    disabled = flags.pop(UAC_ACCOUNTDISABLE, None)
    target = (f"Get-ADComputer -Identity {quote(a.account)}{server} | " if a.computer else "")
    identity = "" if a.computer else f" -Identity {quote(a.account)}"
    if disabled is not None:
        verb = "Disable-ADAccount" if disabled else "Enable-ADAccount"
        lines.append(f"{target}{verb}{identity}{server}")
    if flags:
        params = " ".join(f"-{UAC_PARAMETERS[bit]} ${'true' if on else 'false'}" for bit, on in sorted(flags.items()))
        lines.append(f"{target}Set-ADAccountControl{identity} {params}{server}")
    return lines
