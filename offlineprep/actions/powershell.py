"""PowerShell renderings of fix actions: the lines that make a change and the lines that undo it.

Each kind renders itself in its own module (`fix_lines`, `revert_lines`); this module is the one
door the report's snippet, the fix script and apply use, under the names they have always used.
Every value (names, paths, SIDs, SPNs, the domain controller) is a single-quoted literal
(`pwsh.quote`); on a file server or host the script block takes its values as parameters
(`Invoke-Command -ArgumentList`), so they stay data there too. Every rendering can run twice: it
reads the current state first and changes only what is still to change. Sources for each command
are in docs/fixes.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from offlineprep.actions.acl_grant import FULL_CONTROL, ICACLS_SPECIFIC, RESTORE_FUNCTION, icacls_rights, ntfs_grant_argument
from offlineprep.actions.base import INDENT, ActionBase
from offlineprep.actions.kerberos_refresh import purge_lines, replicate_lines
from offlineprep.actions.local_group_member import ALREADY_A_MEMBER, NOT_A_MEMBER
from offlineprep.actions.smb_name_checking import LANMAN_KEY
from offlineprep.actions.time_sync import W32TIME_KEY
from offlineprep.actions.winrm_listener import LISTENER_MADE, LISTENER_NOT_MADE

__all__ = [
    "ALREADY_A_MEMBER", "FULL_CONTROL", "ICACLS_SPECIFIC", "INDENT", "LANMAN_KEY", "LISTENER_MADE",
    "LISTENER_NOT_MADE", "NOT_A_MEMBER", "RESTORE_FUNCTION", "W32TIME_KEY", "fix_lines",
    "icacls_rights", "ntfs_grant_argument", "purge_lines", "replicate_lines", "revert_lines", "snippet",
]


def fix_lines(action: ActionBase) -> list[str]:
    """The lines that make the change, runnable as they stand (a manual step is a warning)."""
    return action.fix_lines()


def revert_lines(action: ActionBase) -> list[str]:
    """The lines that put back the state seen before; [] where nothing is to be undone."""
    if not action.revertible:
        return []
    return action.revert_lines()


def snippet(actions: Sequence[ActionBase]) -> tuple[str, str | None]:
    """The report's fix and revert for one finding: every action's lines, the revert in reverse order,
    the ticket purge (which follows the AD changes) last again."""
    forward = [line for a in actions for line in fix_lines(a)]
    backward = [line for a in reversed(actions) if not a.follows_ad_changes for line in revert_lines(a)]
    if backward and any(a.follows_ad_changes for a in actions):
        backward += [line for a in actions if a.follows_ad_changes for line in a.fix_lines()]
    return "\n".join(forward), ("\n".join(backward) if backward else None)
