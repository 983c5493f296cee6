"""Faults in the middle of apply leave a record that says exactly what was and was not done, and
revert handles such a partial record.

The hosts misbehave through the lab's Fault modes (a 401, an answer later than the timeout, a
truncated answer) behind the real pywinrm path. The directory faults use a narrow seam: the
connection factory (nothing answers), or a wrapper around the lab's ldap3 connection that lets a
modify fail in flight or lets another writer change the object between apply's read and its write.
The same faults against a real DC (paused with SIGSTOP) are in tests/integration/test_apply_samba.py.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from apply_lab import Lab
from ldap3 import MODIFY_REPLACE
from ldap3.core import exceptions as lx

from offlineprep.apply import runner
from offlineprep.apply.model import Outcome
from offlineprep.lab.windows import Fault


def step(record: Any, kind: str) -> Any:
    return next(s for s in record.steps if s.action.kind == kind)


def test_a_host_that_refuses_the_credentials_costs_only_its_own_steps_and_revert_takes_the_rest_back(lab: Lab) -> None:
    before = lab.descriptors()
    plan = lab.plan()
    held = lab.held(plan)  # apply collects again first; the host refuses once that is done
    lab.sim("fs01.lab.test").fault = Fault.HTTP_401
    record = lab.apply(plan, verify=False, held=held)
    share = step(record, "host.share-rights")
    assert share.outcome is Outcome.NOT_RUN and "refused the credentials" in share.message
    assert step(record, "host.ntfs-rights").outcome is Outcome.APPLIED
    assert step(record, "ad.delegation-values").outcome is Outcome.APPLIED
    assert runner.apply_exit_code(plan, record) == 3
    on_disk = json.loads((lab.record_dir / "record.json").read_text())
    assert on_disk["complete"] is True
    assert {s["outcome"] for s in on_disk["steps"] if s["action"]["kind"] == "host.share-rights"} == {"not-run"}

    lab.sim("fs01.lab.test").fault = None
    back = lab.revert(record)
    assert step(back, "host.share-rights").outcome is Outcome.NOTHING_APPLIED
    assert step(back, "host.ntfs-rights").outcome is Outcome.REVERTED
    assert lab.descriptors() == before


def test_a_host_that_answers_too_late_is_unknown_and_revert_reads_what_really_happened(lab: Lab) -> None:
    before = lab.descriptors()
    plan = lab.plan()
    assert lab.site.winrm is not None
    quick = lab.site.model_copy(update={"winrm": lab.site.winrm.model_copy(update={"timeout_seconds": 1.5})})
    held = lab.held(plan)  # apply collects again first; the host turns slow once that is done
    lab.demo.endpoint.slow_seconds = 3.0
    lab.sim("fs11.lab.test").fault = Fault.SLOW
    record = runner.apply_plan(plan, quick, connections=lab.connections(), password_for=lab.password, checks=lab.checks,
                               record_path=lab.record_dir / "record.json", replanned=held)
    ntfs = step(record, "host.ntfs-rights")
    assert ntfs.outcome is Outcome.UNKNOWN and "whether it ran is unknown" in ntfs.message
    assert ntfs.after is None
    assert runner.apply_exit_code(plan, record) == 3
    # the host did carry the command out after offlineprep stopped waiting, as a slow Windows host does
    time.sleep(3.5)
    lab.sim("fs11.lab.test").fault = None
    assert lab.descriptors() != before
    back = lab.revert(record)
    assert step(back, "host.ntfs-rights").outcome is Outcome.REVERTED, step(back, "host.ntfs-rights").message
    assert lab.descriptors() == before


def test_an_unknown_step_that_did_not_happen_is_found_as_before_and_left_alone(lab: Lab) -> None:
    before = lab.descriptors()
    plan = lab.plan()
    assert lab.site.winrm is not None
    quick = lab.site.model_copy(update={"winrm": lab.site.winrm.model_copy(update={"timeout_seconds": 1.5})})
    held = lab.held(plan)  # apply collects again first; the host turns slow once that is done
    lab.demo.endpoint.slow_seconds = 3.0
    lab.sim("fs11.lab.test").fault = Fault.SLOW
    record = runner.apply_plan(plan, quick, connections=lab.connections(), password_for=lab.password, checks=lab.checks,
                               record_path=lab.record_dir / "record.json", replanned=held)
    assert step(record, "host.ntfs-rights").outcome is Outcome.UNKNOWN
    time.sleep(3.5)
    lab.sim("fs11.lab.test").fault = None
    folder = next(f for f in lab.sim("fs11.lab.test").folders if f.path == "F:\\ASRImport")
    folder.ntfs_sddl = before[r"fs11.lab.test folder F:\ASRImport"]  # as if the command had never run there
    back = lab.revert(record)
    assert step(back, "host.ntfs-rights").outcome is Outcome.AS_BEFORE
    assert lab.descriptors() == before


def test_a_truncated_answer_keeps_the_lines_that_arrived(lab: Lab) -> None:
    from offlineprep.lab.windows import SimRule

    hv11 = lab.sim("hv11.lab.test")
    hv11.firewall = [SimRule("VIRT-HVRHTTPSL-In-TCP-NoScope", ["443"], enabled=False),
                     SimRule("Block-8084", ["8084"], action="Block")]
    rules = lab.rules()
    plan = lab.plan(fail_on="warn")
    held = lab.held(plan)
    hv11.fault = Fault.TRUNCATED
    record = lab.apply(plan, verify=False, held=held)
    disable, open_port = step(record, "host.firewall-disable"), step(record, "host.firewall-open")
    assert disable.outcome is Outcome.APPLIED  # its line arrived whole
    assert open_port.outcome is Outcome.UNKNOWN and "stopped before its last line" in open_port.message
    hv11.fault = None
    back = lab.revert(record)
    assert step(back, "host.firewall-disable").outcome is Outcome.REVERTED
    assert step(back, "host.firewall-open").outcome is Outcome.REVERTED  # the host had made the rule
    assert lab.rules() == rules


def test_no_domain_controller_leaves_every_ad_step_not_run_and_the_hosts_still_done(lab: Lab) -> None:
    plan = lab.plan()

    def unreachable(config: Any, password: str | None) -> Any:
        raise lx.LDAPSocketOpenError("socket connection error while opening: [Errno 111] Connection refused")

    connections = lab.connections()
    connections.directory_connect = unreachable
    record = runner.apply_plan(plan, lab.site, connections=connections, password_for=lab.password, checks=lab.checks,
                               record_path=lab.record_dir / "record.json")
    for kind in ("ad.delegation-values", "ad.protocol-transition"):
        assert step(record, kind).outcome is Outcome.NOT_RUN
        assert step(record, kind).message.startswith("not sent: ")
    assert step(record, "host.share-rights").outcome is Outcome.APPLIED
    # no AD change, so no ticket purge
    assert {s.outcome for s in record.steps if s.action.kind == "host.kerberos-refresh"} == {Outcome.ALREADY}


class _Wrapped:
    """The lab's ldap3 connection, with one modify made to fail or to race another writer."""

    def __init__(self, conn: Any, on_modify: Any) -> None:
        self._conn = conn
        self._on_modify = on_modify
        self.modifies = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name == "modifies":
            object.__setattr__(self, name, value)
        else:
            setattr(self._conn, name, value)

    def modify(self, dn: str, changes: Any) -> Any:
        self.modifies += 1
        self._on_modify(self, dn, changes)
        return self._conn.modify(dn, changes)


def _connections(lab: Lab, on_modify: Any) -> runner.Connections:
    connections = lab.connections()
    assert lab.demo.directory is not None
    connect = lab.demo.directory.connect
    connections.directory_connect = lambda config, password: _Wrapped(connect(config, password), on_modify)
    return connections


def test_the_dc_lost_in_the_middle_makes_that_step_unknown_and_the_rest_not_run(lab: Lab) -> None:
    plan = lab.plan()

    def second_one_fails(conn: _Wrapped, dn: str, changes: Any) -> None:
        if conn.modifies == 2:
            raise lx.LDAPSocketReceiveError("error receiving data: timed out")

    record = runner.apply_plan(plan, lab.site, connections=_connections(lab, second_one_fails),
                               password_for=lab.password, checks=lab.checks, record_path=lab.record_dir / "record.json")
    assert step(record, "ad.delegation-values").outcome is Outcome.APPLIED
    uac = step(record, "ad.protocol-transition")
    assert uac.outcome is Outcome.UNKNOWN and "after this change was sent" in uac.message
    assert uac.changes and "delete userAccountControl" in uac.changes[0]
    # revert: the UAC change never reached the directory, so it is as before; the ADTD value goes
    back = lab.revert(record)
    assert step(back, "ad.protocol-transition").outcome is Outcome.AS_BEFORE
    assert step(back, "ad.delegation-values").outcome is Outcome.REVERTED


def test_a_change_between_the_read_and_the_write_is_refused_by_the_directory(lab: Lab) -> None:
    """The precondition is in the modify itself: it deletes the userAccountControl value apply read, so
    a value written by someone else in between makes the DC refuse the whole modify."""
    plan = lab.plan()
    assert lab.demo.directory is not None
    other = lab.demo.directory.connect(lab.site.primary_directory, lab.password(lab.site.primary_directory.password_env, ""))

    def someone_else_first(conn: _Wrapped, dn: str, changes: Any) -> None:
        if "userAccountControl" in changes:
            other.modify(dn, {"userAccountControl": [(MODIFY_REPLACE, ["4128"])]})  # 0x1020: another flag set

    record = runner.apply_plan(plan, lab.site, connections=_connections(lab, someone_else_first),
                               password_for=lab.password, checks=lab.checks, record_path=lab.record_dir / "record.json")
    uac = step(record, "ad.protocol-transition")
    assert uac.outcome is Outcome.CHANGED and "refused the change" in uac.message, uac.message
    assert uac.before == {"userAccountControl": 0x1000}  # what apply read, and deleted in its modify
    other.search("CN=HV02,CN=Computers,DC=lab,DC=test", "(objectClass=*)", attributes=["userAccountControl"])
    assert int(other.response[0]["attributes"]["userAccountControl"]) == 4128  # the other writer's value stands


def test_a_run_cut_short_leaves_a_record_of_what_was_done_and_what_was_not(lab: Lab) -> None:
    plan = lab.plan()
    path = lab.record_dir / "record.json"

    def stop_after_the_first(record_step: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.apply_plan(plan, lab.site, connections=lab.connections(), password_for=lab.password, checks=lab.checks,
                          record_path=path,
                          on_step=stop_after_the_first)
    data = json.loads(path.read_text())
    assert data["complete"] is False
    said = {s["number"]: s["outcome"] for s in data["steps"]}
    assert said[1] == "applied"
    assert said[2] == "not-run" and data["steps"][1]["message"] == "apply stopped before this step"
    assert {s["outcome"] for s in data["steps"] if s["action"]["kind"] == "manual"} == {"by-hand"}
    # and revert takes back what the cut-short run did
    from offlineprep.apply.planner import load_record

    back = lab.revert(load_record(path))
    assert step(back, "ad.delegation-values").outcome is Outcome.REVERTED
    assert runner.revert_exit_code(back) == 0
