"""apply --wait-replication (issue 22.3), on two in-process DCs: the wait polls every DC until they agree,
bounded, and names the DCs still behind when the time is up; discovery runs once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ldap3

from offlineprep.apply.replication import wait_for_replication
from offlineprep.collect.directory import collect_directory
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.engine import discover
from offlineprep.lab.directory import LabDirectory
from offlineprep.pipeline import Collectors
from offlineprep.site import DirectoryConfig, Site

CHECK = next(c for c in discover(include_entry_points=False).checks if c.id == "ad.replicated")
PAIR = [("dc1", "Default-First-Site-Name"), ("dc2", "Branch")]
WRITTEN = ["cifs/fs01.lab.test", "cifs/FS01"]


class Pair:
    """Two DCs of lab.test; apply has written HV01's delegation on dc1; `replicate()` brings it to dc2."""

    def __init__(self) -> None:
        self.labs = []
        for named, delegate in (("dc1", WRITTEN), ("dc2", [])):
            lab = LabDirectory(controllers=list(PAIR), named_dc=named)
            lab.user("svc-vmm")
            lab.computer("HV01", uac=0x1000 | 0x1000000, delegate_to=delegate)
            lab.computer("HV11", uac=0x1000 | 0x1000000)
            lab.computer("FS01")
            self.labs.append(lab)
        self.reads = 0

    def connect(self, config: DirectoryConfig, password: str | None) -> ldap3.Connection:
        return (self.labs[0] if "//dc1." in config.server else self.labs[1]).connect(config, password)

    def collector(self, config: DirectoryConfig, request: DirectoryRequest, password: str | None) -> Any:
        self.reads += 1
        return collect_directory(config, request, password, connect=self.connect)

    def replicate(self) -> None:
        dc2 = self.labs[1]
        conn = dc2.connect(dc2.config(), dc2.password)
        assert conn.modify(f"CN=HV01,CN=Computers,{dc2.base_dn}",
                           {"msDS-AllowedToDelegateTo": [(ldap3.MODIFY_REPLACE, WRITTEN)]})


def _site(lab: LabDirectory) -> Site:
    config = lab.config()
    return Site.model_validate({
        "directory": {"server": config.server, "user": config.user, "base_dn": config.base_dn},
        "accounts": {"vmm_service": "LAB\\svc-vmm"},
        "source": {"hosts": ["hv01.lab.test"], "export_path": r"\\fs01.lab.test\Exp"},
        "target": {"hosts": ["hv11.lab.test"], "import_path": r"\\fs01.lab.test\Imp"}})


def test_the_wait_returns_once_every_dc_holds_what_apply_wrote() -> None:
    pair = Pair()
    clock = [0.0]
    polls: list[tuple[int, float, int]] = []

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        if clock[0] >= 4:  # replication brings the change to dc2 after two polls
            pair.replicate()

    wait = wait_for_replication(_site(pair.labs[0]), CHECK, Collectors(directory=pair.collector),
                                lambda env, purpose: pair.labs[0].password, 60, sleep=sleep, clock=lambda: clock[0],
                                on_poll=lambda n, s, behind: polls.append((n, s, len(behind))))
    assert wait.agreed and wait.polls == 3 and wait.behind == []
    assert polls == [(1, 0.0, 1), (2, 2.0, 1), (3, 4.0, 0)]  # progress at each reading: one object behind, then none
    assert pair.reads == 3  # one directory reading per poll


def test_the_wait_is_bounded_and_names_the_dc_still_behind() -> None:
    pair = Pair()
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    wait = wait_for_replication(_site(pair.labs[0]), CHECK, Collectors(directory=pair.collector),
                                lambda env, purpose: pair.labs[0].password, 5, sleep=sleep, clock=lambda: clock[0])
    assert not wait.agreed and wait.polls == 3 and clock[0] == 4.0  # never sleeps past the 5 s
    [behind] = wait.behind
    assert behind.subject == "hv01.lab.test"
    assert "not yet on dc2.lab.test (site Branch)" in behind.message


def test_without_waiting_one_reading_says_which_dcs_are_behind() -> None:
    pair = Pair()
    wait = wait_for_replication(_site(pair.labs[0]), CHECK, Collectors(directory=pair.collector),
                                lambda env, purpose: pair.labs[0].password, 0, sleep=lambda s: None)
    assert not wait.agreed and wait.polls == 1 and "dc2.lab.test" in wait.behind[0].message


def test_apply_wait_replication_through_the_command_reads_every_dc_then_checks_again(tmp_path: Path) -> None:
    """The demo's directory has one DC: the wait reads it once and goes on to the re-check."""
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "250"}, timeout=180)

    plan = tmp_path / "plan.json"
    assert run("plan", "--demo", "--output", str(plan)).returncode == 0
    proc = run("apply", str(plan), "--demo", "--yes", "--wait-replication", "5", "--record", str(tmp_path / "r.json"))
    text = proc.stdout
    assert "Waiting up to 5 s for every domain controller to hold the changes" in text, text + proc.stderr
    assert "reading 1, 0 s of 5: every DC agrees" in text
    assert text.index("every domain controller holds the same values") < text.index("Checking again")
