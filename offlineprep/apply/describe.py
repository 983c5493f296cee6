"""Plan steps in words: where each runs, what it changes from which state to which, and the rights it
needs. Plain text (the CLI escapes and styles it), so the dry run, the record and the docs say the same."""

from __future__ import annotations

from offlineprep.actions import types as t
from offlineprep.apply.model import How, Plan, Step


def where(step: Step, directory_server: str | None) -> str:
    if step.how is How.DIRECTORY:
        return f"AD ({directory_server})" if directory_server else "AD"
    owner = step.action.owner
    return owner.name if owner is not None and owner.name else "-"


def what(action: t.ActionBase) -> str:
    target, doing = action.describe()
    if isinstance(action, t.ManualStep):
        return doing
    owner = action.owner
    if owner is not None and owner.kind != "directory" and owner.name:
        # the machine is said where the step runs: `fs01: share X` reads as `share X`
        target = target.removeprefix(f"{owner.name}: ").removeprefix(owner.name)
    return f"{target}: {doing}" if target else doing


def change(action: t.ActionBase) -> str:
    """From which state to which, as the plan holds them (each kind says it: its module's `change`)."""
    return action.change()


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
