"""manual: what cannot be scripted (move a share, free space, a policy value, the deny entry to narrow
first): a `Write-Warning` at its place in the fix script, a step by hand in a plan."""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import ActionBase, Owner, Phase, machine_name
from offlineprep.pwsh import quote


class ManualStep(ActionBase):
    """What cannot be scripted (move a share, free space, a policy value): a reminder, in order."""

    kind: Literal["manual"] = "manual"
    owner: Owner | None = None
    text: str

    phase: ClassVar[Phase] = Phase.REMINDER
    revertible: ClassVar[bool] = False

    def describe(self) -> tuple[str, str]:
        return machine_name(self.owner), self.text

    def placement(self) -> str:
        where = f" on {self.owner.name}" if self.owner is not None and self.owner.name else ""
        return f"A step to do by hand{where}: read it before you run anything."

    def fix_lines(self) -> list[str]:
        return [f"Write-Warning {quote(self.text)}"]

    def by_hand(self) -> str | None:
        return "it cannot be scripted: " + self.text
