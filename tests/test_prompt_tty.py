"""The password prompts, seen on a real terminal: every secret is asked before the progress bar.

tmux runs offlineprep in a pseudo-terminal and renders the screen as a terminal would; capture-pane
reads it. Before this was fixed, the LDAP prompt appeared under a live progress bar ("querying
hosts ━━ 0/6 … LDAP password:") that redrew over it. Every address here is on loopback and
refuses at once (port 1), so the run ends in a second or two after the passwords are typed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

SITE = r"""
[directory]
server = "ldaps://127.0.0.1:1"
user = "svc-preflight@contoso.com"

[winrm]
transport = "basic"
scheme = "https"  # over http, preflight would first warn about Basic in clear text
port = 1
user = "CONTOSO\\svc-preflight"
timeout_seconds = 5

[accounts]
vmm_service = "CONTOSO\\svc-vmm"

[source]
hosts = ["127.0.0.11", "127.0.0.12"]
export_path = '\\127.0.0.14\ASRExport'

[target]
hosts = ["127.0.0.13"]
import_path = '\\127.0.0.15\ASRImport'
"""

LDAP_PROMPT = "LDAP password (or set OFFLINEPREP_LDAP_PASSWORD):"
WINRM_PROMPT = "WinRM password (or set OFFLINEPREP_WINRM_PASSWORD):"


class Tmux:
    def __init__(self) -> None:
        found = shutil.which("tmux")
        if not found:
            if os.environ.get("CI"):
                pytest.fail("tmux is required in CI (scripts/setup.sh installs it)")
            pytest.skip("tmux is not installed")
        self.tmux = found
        self.socket = f"offlineprep-test-{uuid.uuid4().hex[:8]}"  # a server of our own: no other session is touched

    def __call__(self, *args: str) -> str:
        return subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout

    def screen(self, history: bool = False) -> str:
        """The screen as the terminal shows it; with `history`, the lines scrolled off above it too."""
        return self("capture-pane", "-p", *(["-S", "-"] if history else []), "-t", "run")

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared on the screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def test_every_prompt_comes_before_the_progress_bar_and_stays_intact(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(SITE)
    command = (f"cd {tmp_path} && env -u OFFLINEPREP_LDAP_PASSWORD -u OFFLINEPREP_WINRM_PASSWORD "
               f"{sys.executable} -m offlineprep preflight --config site.toml; echo RUN-ENDED-$?; sleep 60")
    tmux = Tmux()
    try:
        tmux("new-session", "-d", "-s", "run", "-x", "200", "-y", "50", command)
        tmux.wait_for(LDAP_PROMPT)
        time.sleep(1.0)  # a progress bar would have redrawn by now (rich refreshes ten times a second)
        screen = tmux.screen()
        assert "querying hosts" not in screen, screen
        assert [line.rstrip() for line in screen.splitlines() if line.strip()] == [LDAP_PROMPT], screen
        tmux("send-keys", "-t", "run", "ldap-Secret-1", "Enter")
        screen = tmux.wait_for(WINRM_PROMPT)
        time.sleep(1.0)
        assert "querying hosts" not in tmux.screen(), tmux.screen()
        tmux("send-keys", "-t", "run", "winrm-Secret-2", "Enter")
        tmux.wait_for("RUN-ENDED-", timeout=60)
        screen = tmux.screen(history=True)
    finally:
        tmux.kill()
    lines = [line.rstrip() for line in screen.splitlines()]
    assert lines[0] == LDAP_PROMPT and lines[1] == WINRM_PROMPT, screen  # both prompts intact, in order
    assert "Secret" not in screen  # getpass: nothing echoed
    assert "INCOMPLETE" in screen or "NOT READY" in screen, screen  # the run went on with the passwords
    assert "RUN-ENDED-1" in screen or "RUN-ENDED-3" in screen, screen
