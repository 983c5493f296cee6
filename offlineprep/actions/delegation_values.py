"""ad.delegation-values: SPNs added to a computer's msDS-AllowedToDelegateTo (constrained delegation).

The fix reads the values and adds only the missing ones; the revert removes only those still
present. apply writes it over LDAP (apply.directory), chained with the other steps on the same
computer's attribute.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from offlineprep.actions.base import DELEGATION_RIGHTS, DIRECTORY, ActionBase, ApplyWay, Owner, Phase, server_parameter
from offlineprep.pwsh import quote, quote_list


class AddDelegationValues(ActionBase):
    """Add SPNs to a computer's msDS-AllowedToDelegateTo (constrained delegation targets)."""

    kind: Literal["ad.delegation-values"] = "ad.delegation-values"
    owner: Owner | None = DIRECTORY
    rights: str = DELEGATION_RIGHTS
    computer: str  # Get-ADComputer -Identity: the sAMAccountName without its $
    values: list[str]  # the SPNs to add (only those missing when offlineprep read the directory)
    before: list[str] = Field(default_factory=list)  # msDS-AllowedToDelegateTo as read
    after: list[str] = Field(default_factory=list)

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)
    apply_way: ClassVar[ApplyWay | None] = "ldap"

    def describe(self) -> tuple[str, str]:
        return self.computer, "Allow delegation to " + ", ".join(self.values)

    def fix_lines(self) -> list[str]:
        return _delegation_values(self, add=True)

    def revert_lines(self) -> list[str]:
        return _delegation_values(self, add=False)

    def change(self) -> str:
        return f"msDS-AllowedToDelegateTo: {_list(self.before)} -> adds {_list(self.values)}"

    def chain_key(self) -> tuple[str, str] | None:
        return ("msDS-AllowedToDelegateTo", self.computer.casefold())

    def chained(self, states: dict[Any, Any]) -> ActionBase | None:
        """A value an earlier step adds already is not added twice; nothing left to add: no step."""
        key = self.computer.casefold()
        state = states.get(key, list(self.before))
        adding = [v for v in self.values if v.casefold() not in {s.casefold() for s in state}]
        if not adding:
            return None
        states[key] = [*state, *adding]
        return self.rebuilt(values=adding, before=state, after=states[key])


def _list(values: list[str]) -> str:
    return ", ".join(values) if values else "none"


def _delegation_values(a: AddDelegationValues, add: bool) -> list[str]:
    server = server_parameter(a.owner)
    who = quote(a.computer)
    keep, verb = ("-notcontains", "Add") if add else ("-contains", "Remove")
    return [
        f"$current = @((Get-ADComputer -Identity {who} -Properties 'msDS-AllowedToDelegateTo'{server})"
        ".'msDS-AllowedToDelegateTo')",
        f"$values = @({quote_list(a.values)} | Where-Object {{ $current {keep} $_ }})",
        f"if ($values.Count -gt 0) {{ Set-ADComputer -Identity {who} -{verb} "
        f"@{{'msDS-AllowedToDelegateTo' = [string[]]$values}}{server} }}",
    ]
