"""Secrets: from the environment variable the site file names, or a prompt; never argv or the file.

`scrub` is applied to every message that may carry library text (exception messages from ldap3,
requests or pywinrm can echo URLs or credentials), so a password never reaches an output or log.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterable

from offlineprep.errors import SecretMissingError

_REDACTED = "********"


def get_secret(env_name: str, purpose: str, *, interactive: bool | None = None) -> str:
    value = os.environ.get(env_name)
    if value:
        return value
    if interactive is None:
        interactive = sys.stdin.isatty()
    if interactive:
        entered = getpass.getpass(f"{purpose} password (or set {env_name}): ")
        if entered:
            return entered
    raise SecretMissingError(
        f"no {purpose} password: set the environment variable {env_name} (or run in a terminal to be prompted)"
    )


class SecretScrubber:
    """Remembers the secrets in use this run and replaces them wherever they appear."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 3:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        return scrub(text, self._secrets)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret, and its URL-encoded form, by asterisks."""
    from urllib.parse import quote

    for secret in sorted(secrets, key=len, reverse=True):
        if not secret:
            continue
        text = text.replace(secret, _REDACTED)
        encoded = quote(secret, safe="")
        if encoded != secret:
            text = text.replace(encoded, _REDACTED)
    return text
