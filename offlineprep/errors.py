"""Our own error types: each maps to one exit code at the CLI edge and carries one readable sentence."""

from __future__ import annotations


class OfflineprepError(Exception):
    """Base of the errors we raise on purpose (as opposed to bugs)."""

    exit_code = 4


class UsageError(OfflineprepError):
    """Bad usage: wrong options, a file that cannot be read, a missing secret. Exit 2."""

    exit_code = 2


class SiteFileError(UsageError):
    """An invalid site file; the message names the file, the line and the key."""


class WaiverFileError(UsageError):
    """An invalid waivers file; the message names the file, the line and the key."""


class SecretMissingError(UsageError):
    """No password in the environment and no terminal to ask on."""
