"""The passwords a command asks for, and keeping every one of them out of what it writes.

A password comes from the environment variable the site file names, or a prompt (`secrets`); each
one in use is remembered by `scrubber`, which the command line runs over every error message, log
record, facts file, plan, record and results document before it leaves the process. The passwords
a run needs are asked for all at once, before anything goes over the network: a prompt is never
drawn over by a progress bar, and a missing one stops the run before it has changed anything.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Protocol

from offlineprep.model import Results
from offlineprep.secrets import SecretMissingError, SecretScrubber, get_secret

scrubber = SecretScrubber()  # every secret in use this run


class PasswordRequest(Protocol):
    """A password a run needs (`pipeline.SecretRequest`): its environment variable, and what it is for
    (the prompt's words)."""

    @property
    def env(self) -> str: ...

    @property
    def purpose(self) -> str: ...


PasswordFor = Callable[[str, str], str]


def password_for(env_name: str, purpose: str) -> str:
    """The password in `env_name`, or typed at a prompt; remembered by `scrubber`."""
    secret = get_secret(env_name, purpose)
    scrubber.add(secret)
    return secret


def ask_all(requests: Iterable[PasswordRequest]) -> PasswordFor:
    """Every password of `requests` now, each variable once; the answer looks them up (and asks, as
    `password_for` does, for one that was not foreseen). Every one missing (no variable, no terminal to
    ask on) is named in one error, so that a pipeline learns them all from one run."""
    requests = list(requests)
    passwords: dict[str, str] = {}
    missing: dict[str, SecretMissingError] = {}
    for request in requests:
        if request.env in passwords or request.env in missing:
            continue
        try:
            passwords[request.env] = password_for(request.env, request.purpose)
        except SecretMissingError as exc:
            missing[request.env] = exc
    if len(missing) == 1:
        raise next(iter(missing.values()))
    if missing:
        purposes = {r.env: r.purpose for r in requests}
        raise SecretMissingError(
            f"{len(missing)} passwords are missing: " + ", ".join(f"{purposes[env]} (set {env})" for env in missing)
            + "; set these environment variables, or run in a terminal to be prompted")

    def lookup(env_name: str, purpose: str) -> str:
        return passwords.get(env_name) or password_for(env_name, purpose)

    return lookup


def scrub_results(results: Results) -> Results:
    """Last line of defence: no secret in use this run may reach a results document."""
    # json with ensure_ascii=False, not pydantic's JSON: the text stays in memory, so an unpaired
    # surrogate from a host is no problem, and a non-ASCII secret is not hidden behind \u escapes
    text = json.dumps(results.model_dump(mode="json", by_alias=True), ensure_ascii=False)
    cleaned = scrubber(text)
    return results if cleaned == text else Results.model_validate(json.loads(cleaned))


class ScrubbingFilter(logging.Filter):
    """A log record, its arguments and its traceback, with every secret in use replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrubber(record.getMessage())
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrubber("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def setup_logging() -> None:
    """offlineprep's log to stderr, scrubbed; debug with OFFLINEPREP_DEBUG, else warnings only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ScrubbingFilter())
    handler.setFormatter(logging.Formatter("offlineprep: %(levelname)s: %(message)s"))
    root = logging.getLogger("offlineprep")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if os.environ.get("OFFLINEPREP_DEBUG") else logging.WARNING)
    root.propagate = False
