"""A plan file is an approval, not a program (SPEC §12; docs/security.md, "Plan and record files").

Each test is an attack by someone who can write the plan file (a pipeline artifact): a step of an
honest plan replaced by another action, its id recomputed (the id is an unkeyed hash of the content,
so pydantic recomputes it as the file is read: `Step.model_validate` below is exactly what loading
the edited file does). Before apply planned again, each was carried out and apply exited 0; now the
whole apply is refused before anything is sent, naming the step, and the directory and the hosts are
as they were. The last test is the same loop untampered: it still applies and reverts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).parent.parent / "apply"))

from apply_lab import Lab, started_lab

from offlineprep.apply import runner
from offlineprep.apply.model import How, Outcome, Plan, Step
from offlineprep.errors import OfflineprepError

DOM = "S-1-5-21-1111-2222-3333"
BASE = "DC=lab,DC=test"


@pytest.fixture
def lab(tmp_path: Path) -> Any:
    with started_lab(tmp_path) as started:
        assert started.demo.directory is not None
        started.demo.directory.group("Domain Admins", rid=512)
        started.demo.directory.computer("DC1", uac=0x82000)  # a domain controller's account
        yield started


def directory_state(lab: Lab) -> dict[str, Any]:
    """Every attribute of every object of the lab's directory, as the DC holds it."""
    assert lab.demo.directory is not None and lab.site.primary_directory is not None
    conn = lab.demo.directory.connect(lab.site.primary_directory, lab.password(lab.site.primary_directory.password_env,
                                                                              ""))
    conn.search(BASE, "(objectClass=*)", attributes=["*"])
    return {str(e["dn"]): {k: sorted(map(repr, v)) if isinstance(v, list) else repr(v)
                           for k, v in e["raw_attributes"].items()} for e in conn.response}


def host_state(lab: Lab) -> dict[str, Any]:
    return {host: {"shares": [(s.name, s.path, s.sddl) for s in sim.shares],
                   "folders": [(f.path, f.ntfs_sddl) for f in sim.folders],
                   "groups": [(g.sid, list(g.members)) for g in sim.groups],
                   "rules": [(r.name, r.enabled) for r in sim.firewall]}
            for host, sim in lab.sims.items()}


def tampered(plan: Plan, kind: str, action: dict[str, Any], how: How = How.DIRECTORY) -> Plan:
    """`plan` with its first step of `kind` replaced by `action` (the id recomputed as a file read back has
    it), answering the same findings."""
    index = next(i for i, s in enumerate(plan.steps) if s.action.kind == kind)
    old = plan.steps[index]
    step = Step.model_validate({"number": old.number, "how": how.value, "action": action, "findings": old.findings})
    return plan.model_copy(update={"steps": [*plan.steps[:index], step, *plan.steps[index + 1:]]})


def refused(lab: Lab, plan: Plan, number: int) -> str:
    """apply of `plan`: refused whole, naming step `number`, with the directory and hosts unchanged."""
    directory, hosts = directory_state(lab), host_state(lab)
    with pytest.raises(OfflineprepError) as raised:
        lab.apply(plan, verify=False)
    message = str(raised.value)
    assert f"step {number} (" in message and "nothing was applied" in message
    assert directory_state(lab) == directory, "the directory changed"
    assert host_state(lab) == hosts, "a host changed"
    return message


def test_a_user_added_to_domain_admins_under_lying_labels_is_refused(lab: Lab) -> None:
    plan = lab.plan()
    action = {"kind": "ad.group-member", "owner": {"kind": "directory", "name": "dc1.lab.test"},
              "group_sid": f"{DOM}-512", "member": f"CN=svc-runas,CN=Users,{BASE}",
              "member_dn": f"CN=svc-runas,CN=Users,{BASE}", "member_label": "LAB\\svc-vmm", "group_label": "HV-Admins"}
    bad = tampered(plan, "ad.delegation-values", action)
    message = refused(lab, bad, bad.steps[0].number)
    assert "ad.group-member" in message and f"{DOM}-512" in message
    assert "HV-Admins" not in message  # the refusal says the values, not the labels


@pytest.mark.parametrize(("bits", "words"), [(0x80000, "unconstrained delegation"),
                                              (0x400000, "no Kerberos pre-authentication")])
def test_account_control_bits_beyond_the_plan_are_refused(lab: Lab, bits: int, words: str) -> None:
    plan = lab.plan()
    original = next(s.action for s in plan.steps if s.action.kind == "ad.protocol-transition")
    action = {**original.model_dump(mode="json", exclude={"id"}), "account": "HV01",
              "after_uac": 0x1000 | 0x1000000 | bits}  # HV01: a host no finding names for this
    # the plan model itself refuses bits the type does not own (tests/security/test_bits_not_values.py),
    # before apply would re-plan: the file cannot even be read as a plan
    with pytest.raises(ValidationError, match="only the bits this type changes"):
        tampered(plan, "ad.protocol-transition", action)
    # the same step with only its own bit, on a host no finding names: the re-plan refuses it
    action["after_uac"] = 0x1000 | 0x1000000
    bad = tampered(plan, "ad.protocol-transition", action)
    refused(lab, bad, next(s.number for s in bad.steps if s.action.kind == "ad.protocol-transition"))


def test_an_spn_added_for_roasting_is_refused(lab: Lab) -> None:
    plan = lab.plan()
    action = {"kind": "ad.spn", "owner": {"kind": "directory", "name": "dc1.lab.test"}, "spn": "http/roast.lab.test",
              "add_to": f"CN=svc-vmm,CN=Users,{BASE}", "add_to_label": "FS01"}
    bad = tampered(plan, "ad.delegation-values", action)
    refused(lab, bad, bad.steps[0].number)


def test_resource_based_delegation_written_on_a_dc_is_refused(lab: Lab) -> None:
    plan = lab.plan()
    action = {"kind": "ad.resource-based-delegation", "owner": {"kind": "directory", "name": "dc1.lab.test"},
              "computer": "DC1", "principals": ["HV01"]}
    bad = tampered(plan, "ad.delegation-values", action)
    refused(lab, bad, bad.steps[0].number)


@pytest.mark.parametrize("machine", ["hv11.lab.test", "evil.lab.test"])
def test_a_c_drive_share_on_a_host_no_finding_named_is_refused(lab: Lab, machine: str) -> None:
    plan = lab.plan()
    action = {"kind": "host.create-share", "owner": {"kind": "file-server", "name": machine}, "share": "C",
              "local_path": "C:\\"}
    bad = tampered(plan, "host.share-rights", action, How.HOST)
    refused(lab, bad, next(s.number for s in bad.steps if s.action.kind == "host.create-share"))


def test_a_local_administrator_and_an_open_port_nobody_planned_are_refused(lab: Lab) -> None:
    plan = lab.plan()
    admin = {"kind": "host.local-group-member", "owner": {"kind": "file-server", "name": "fs01.lab.test"},
             "group_sid": "S-1-5-32-544", "group_label": "HV-Admins", "member": "LAB\\svc-runas",
             "member_sid": f"{DOM}-1103"}
    port = {"kind": "host.firewall-open", "owner": {"kind": "hyperv-host", "name": "hv01.lab.test"},
            "rule_name": "offlineprep-HVR-3389", "display_name": "Hyper-V Replica", "port": 3389}
    bad = tampered(tampered(plan, "host.share-rights", admin, How.HOST), "host.ntfs-rights", port, How.HOST)
    message = refused(lab, bad, next(s.number for s in bad.steps if s.action.kind == "host.local-group-member"))
    assert "host.firewall-open" in message  # every refused step is named


def test_the_untampered_plan_still_applies_and_reverts(lab: Lab) -> None:
    """Refusing everything is not a defence: the same plan, as written, is applied and undone."""
    directory, hosts = directory_state(lab), host_state(lab)
    plan = lab.plan()
    record = lab.apply(plan)
    assert {s.outcome for s in record.steps} == {Outcome.APPLIED, Outcome.BY_HAND}
    assert runner.apply_exit_code(plan, record) == 1  # applied; the lab's steps by hand are left
    assert record.verification is not None and not runner.still_failing(plan, record.verification)
    assert directory_state(lab) != directory
    back = lab.revert(record)
    assert runner.revert_exit_code(back) == 0
    assert host_state(lab) == hosts
    assert directory_state(lab) == directory


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "250"}, timeout=180)


def test_the_dry_run_shows_what_is_written_not_the_labels_of_the_file(tmp_path: Path) -> None:
    """A reviewer reading the dry run of a plan whose labels say "add svc-vmm to HV-Admins" reads the
    group's SID with the name it resolves to now (Domain Admins: a well-known RID of the domain read)."""
    path = tmp_path / "plan.json"
    assert run("plan", "--demo", "--output", str(path)).returncode == 0
    data = json.loads(path.read_text())
    data["steps"][0]["action"] = {"kind": "ad.group-member", "owner": {"kind": "directory", "name": "dc1.lab.test"},
                                  "group_sid": f"{DOM}-512", "member": f"{DOM}-1103",
                                  "member_label": "svc-vmm", "group_label": "HV-Admins"}
    plan = Plan.model_validate(data)  # the id recomputed, as an attacker does
    data["steps"][0]["action"]["id"] = plan.steps[0].action.id
    path.write_text(json.dumps(data))
    proc = run("apply", str(path), "--demo")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    out = proc.stdout
    assert f"{DOM}-512 (LAB\\Domain Admins)" in out and f"{DOM}-1103 (LAB\\svc-runas)" in out
    assert "HV-Admins" not in out.split("Refused")[1]
    assert "nothing was applied" in proc.stderr
