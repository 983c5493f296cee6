"""ad.spn: an SPN registered on the serving machine's account, after taking it off the accounts that
must not hold it. The revert unregisters a registration; a move is not undone. apply writes
servicePrincipalName over LDAP (apply.directory).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from offlineprep.actions.base import DIRECTORY, ActionBase, ApplyWay, Owner, Phase, server_parameter
from offlineprep.pwsh import quote

SPN_RIGHTS = "write access to servicePrincipalName of every account named (Domain Admins)"


class SpnHolderRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    distinguished_name: str
    spn: str
    label: str = ""  # sAMAccountName, for messages


class MoveSpn(ActionBase):
    """Register an SPN on the account of the machine that serves the share, after taking it off the
    accounts that must not hold it (a DC refuses a duplicate, so removals come first). `remove_from`
    never names the serving machine's account. The revert undoes a registration (nothing taken off
    another account) by unregistering what was added; a move is not undone: putting the SPN back on
    a wrong holder breaks the name again (KRB_AP_ERR_MODIFIED, or a duplicate), and taking it off
    the serving machine's account leaves the name with no holder."""

    kind: Literal["ad.spn"] = "ad.spn"
    owner: Owner | None = DIRECTORY
    rights: str = SPN_RIGHTS
    spn: str
    add_to: str | None = None  # Get-ADComputer -Identity of the serving machine (sAMAccountName without $, or DN)
    add_to_label: str = ""
    remove_from: list[SpnHolderRef] = Field(default_factory=list)
    before: list[SpnHolderRef] = Field(default_factory=list)  # every holder as read

    phase: ClassVar[Phase] = Phase.DIRECTORY
    modules: ClassVar[tuple[str, ...]] = ("ActiveDirectory",)
    apply_way: ClassVar[ApplyWay | None] = "ldap"

    def describe(self) -> tuple[str, str]:
        parts = [f"remove {h.spn} from {h.label or h.distinguished_name}" for h in self.remove_from]
        if self.add_to:
            parts.append(f"register {self.spn} on {self.add_to_label or self.add_to}")
        return self.spn, "; ".join(parts).capitalize()

    def written(self) -> tuple[str, str]:
        parts = [f"remove {h.spn} from {h.distinguished_name}" for h in self.remove_from]
        if self.add_to:
            parts.append(f"register {self.spn} on {self.add_to}")
        return self.spn, "; ".join(parts).capitalize()

    def fix_lines(self) -> list[str]:
        return _move_spn(self)

    def revert_lines(self) -> list[str]:
        return _unregister_spn(self)

    def change(self) -> str:
        before = [f"{h.spn} on {h.distinguished_name}" for h in self.before]
        return f"holders: {', '.join(before) if before else 'none'} -> " + self.written()[1]

    def reverted_by_apply(self) -> bool:
        """A registration is undone; a move (something taken off another holder) is not."""
        return self.revertible and not (bool(self.remove_from) or not self.add_to)

    def not_reverted(self) -> str:
        return "not undone: putting the SPN back on the wrong holder breaks the name again (docs/fixes.md)"


def _spn_of_object(dn: str, server: str) -> str:
    return f"@((Get-ADObject -Identity {quote(dn)} -Properties 'servicePrincipalName'{server}).servicePrincipalName)"


def _spn_of_computer(identity: str, server: str) -> str:
    return (f"@((Get-ADComputer -Identity {quote(identity)} -Properties 'servicePrincipalName'{server})"
            ".servicePrincipalName)")


def _move_spn(a: MoveSpn) -> list[str]:
    server = server_parameter(a.owner)
    lines = [f"if ({_spn_of_object(h.distinguished_name, server)} -contains {quote(h.spn)}) {{ Set-ADObject -Identity "
             f"{quote(h.distinguished_name)} -Remove @{{servicePrincipalName = {quote(h.spn)}}}{server} }}"
             for h in a.remove_from]
    if a.add_to:
        lines.append(f"if ({_spn_of_computer(a.add_to, server)} -notcontains {quote(a.spn)}) {{ Set-ADComputer -Identity "
                     f"{quote(a.add_to)} -ServicePrincipalNames @{{Add = {quote(a.spn)}}}{server} }}")
    return lines


def _unregister_spn(a: MoveSpn) -> list[str]:
    """A registration is undone; a move is not: it corrects the directory (tickets for the name were
    encrypted with another account's key), and neither putting the SPN back on the wrong holder nor
    taking it off the serving machine's account would leave the name working."""
    if not a.add_to or a.remove_from:
        return []
    server = server_parameter(a.owner)
    return [f"if ({_spn_of_computer(a.add_to, server)} -contains {quote(a.spn)}) {{ Set-ADComputer -Identity "
            f"{quote(a.add_to)} -ServicePrincipalNames @{{Remove = {quote(a.spn)}}}{server} }}"]
