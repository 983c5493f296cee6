"""Fixes as data: one module per action kind (its model, its PowerShell fix and revert, what apply
says and sends for it), their shared `base`, and the registry `kinds`. `types` and `powershell`
keep the names the checks and renderers import.

docs/fixes.md describes every action kind, the state it carries and how the fix script renders it.
"""

from offlineprep.actions.base import ActionBase, Owner, Phase
from offlineprep.actions.kinds import Action

__all__ = ["Action", "ActionBase", "Owner", "Phase"]
