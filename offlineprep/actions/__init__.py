"""Fixes as data: typed actions (`types`) and their PowerShell renderings (`powershell`).

docs/fixes.md describes every action type, the state it carries and how the fix script renders it.
"""

from offlineprep.actions.types import Action, ActionBase, Owner, Phase

__all__ = ["Action", "ActionBase", "Owner", "Phase"]
