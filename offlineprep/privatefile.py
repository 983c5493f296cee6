"""Private files: every file offlineprep writes, and the owner check of the plan and record it reads.

A plan is an approval and a record is what revert trusts; facts and outputs name every account and
server of a site. So each is created readable and writable by its owner only (0600), whatever the
umask, and never takes over the mode of the file it replaces: the text goes to a new file made with
O_CREAT | O_EXCL and mode 0600 (then fchmod'ed to exactly 0600, as a umask could only have taken bits
away), in the same folder, which then replaces the old one by rename (POSIX rename(2) replaces a
symbolic link itself, never the file it points to). A reader never sees a half-written file.

`check_private` is the other half: a plan or a record that another user owns, or that another user
may write (group or others have the write bit), is refused before it is read, since whoever can write
it decides what apply or revert is asked to do (docs/security.md).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path

from offlineprep.errors import UsageError

PRIVATE_MODE = 0o600
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def write_private(path: Path | str, text: str, *, bom: bool = False) -> None:
    """Write `text` to `path` as a new 0600 file that atomically replaces whatever was there.

    An unpaired UTF-16 surrogate from a host cannot be written as UTF-8; what is left of one here is
    display text and becomes U+FFFD rather than costing the whole file. `bom` starts the file with a
    UTF-8 byte-order mark (the fix script needs one for Windows PowerShell 5.1)."""
    text = _LONE_SURROGATE.sub("\ufffd", text)
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    # mkstemp: O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600 (Python's tempfile documentation)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8-sig" if bom else "utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_private(path: Path | str, what: str) -> None:
    """Refuse a file another user owns or may write: a usage error naming the file and the reason."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    uid = os.geteuid()
    if info.st_uid != uid:
        raise UsageError(f"{path}: the {what} is owned by another user (uid {info.st_uid}, not {uid}): whoever owns "
                         f"it decides what is done; write it again as yourself")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UsageError(f"{path}: the {what} may be written by other users (mode {stat.S_IMODE(info.st_mode):04o}): "
                         f"`chmod 600 {path}` once you have checked it, or write it again")
