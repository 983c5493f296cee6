"""offlineprep.prompts: every password asked once, up front, and scrubbed from what leaves the process."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from offlineprep import prompts


@dataclass(frozen=True)
class Request:
    env: str
    purpose: str


def test_each_variable_is_asked_for_once_and_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def get_secret(env_name: str, purpose: str) -> str:
        asked.append(env_name)
        return f"secret-of-{env_name}"

    monkeypatch.setattr(prompts, "get_secret", get_secret)
    lookup = prompts.ask_all([Request("A_PW", "LDAP"), Request("B_PW", "WinRM"), Request("A_PW", "LDAP")])
    assert asked == ["A_PW", "B_PW"]  # before any lookup
    assert lookup("A_PW", "LDAP") == "secret-of-A_PW" and asked == ["A_PW", "B_PW"]
    assert lookup("C_PW", "WinRM") == "secret-of-C_PW" and asked[-1] == "C_PW"  # one not foreseen: asked then
    assert prompts.scrubber("user secret-of-B_PW@host") == "user ********@host"


def test_the_log_is_scrubbed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(prompts, "get_secret", lambda env_name, purpose: "hunter2-log")
    prompts.password_for("X_PW", "LDAP")
    root = logging.getLogger("offlineprep")
    saved = root.handlers[:], root.level, root.propagate
    try:
        prompts.setup_logging()
        logging.getLogger("offlineprep.test").warning("bind with %s failed", "hunter2-log")
    finally:
        root.handlers[:], root.propagate = saved[0], saved[2]
        root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "bind with ******** failed" in err and "hunter2" not in err
