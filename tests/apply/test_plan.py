"""The plan: what it holds, in which order, how apply carries each step out, and that it is read back
exactly as written (an edited action is refused). docs/plan.schema.json and docs/record.schema.json
are generated from the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apply_lab import Lab

from offlineprep.actions import types as t
from offlineprep.apply.model import How, plan_json_schema, record_json_schema
from offlineprep.apply.planner import check_site, how, load_plan, plan_text, run_order
from offlineprep.errors import UsageError

DOCS = Path(__file__).parents[2] / "docs"


def test_the_schemas_in_docs_are_current() -> None:
    assert json.loads((DOCS / "plan.schema.json").read_text()) == plan_json_schema()
    assert json.loads((DOCS / "record.schema.json").read_text()) == record_json_schema()


def test_the_plan_holds_the_failing_findings_and_their_actions_in_a_safe_order(lab: Lab) -> None:
    plan = lab.plan()
    assert plan.schema_id == "offlineprep/plan/v1"
    assert plan.site.directory_server == "dc1.lab.test"
    assert sorted(plan.site.machines) == ["fs01.lab.test", "fs11.lab.test", "hv01.lab.test", "hv02.lab.test",
                                         "hv11.lab.test", "hvc1-n2.lab.test"]  # HV11: vmms started
    assert {f.status.value for f in plan.findings} == {"fail"}  # the free-space warning is not planned
    # the cluster node HVC1-N2 (from VMM) has no delegation at all: two more; and every primary's
    # Test-VMReplicationConnection to HV11 fails while its vmms is stopped: four more, answered by the same start
    assert len(plan.findings) == 16
    ways = [s.how for s in plan.steps]
    # numbered in the order apply runs them (before: numbered in the fix script's order, run grouped, so apply
    # printed 1-16 "in order" and ran 1, 2, 3, 4, 5, 7, 9, 15, 6, ...): the AD steps first, then each machine's
    # steps with its ticket purge last, the steps by hand (which apply does not run) last; each action once:
    # HV02's protocol transition answers two findings
    assert ways == sorted(ways, key=[How.DIRECTORY, How.HOST, How.BY_HAND].index)
    assert run_order(plan.steps) == plan.steps
    machines: dict[str, list[str]] = {}
    for step in plan.steps:
        if step.how is How.HOST and step.machine:
            machines.setdefault(step.machine, []).append(step.action.kind)
    assert all(kinds.index("host.kerberos-refresh") == len(kinds) - 1 for kinds in machines.values()
               if "host.kerberos-refresh" in kinds)
    firsts = [next(i for i, s in enumerate(plan.steps) if s.how is How.HOST and s.machine == m) for m in machines]
    lasts = [max(i for i, s in enumerate(plan.steps) if s.how is How.HOST and s.machine == m) for m in machines]
    assert all(last < first for last, first in zip(lasts, firsts[1:], strict=False))  # one machine after another
    assert sum(1 for s in plan.steps if s.action.kind == "host.kerberos-refresh") == 3
    transition = next(s for s in plan.steps if s.action.kind == "ad.protocol-transition")
    assert {plan.findings[i].target for i in transition.findings} == {"fs01.lab.test", "fs11.lab.test"}
    assert [s.number for s in plan.steps] == list(range(1, len(plan.steps) + 1))
    by_hand = [s for s in plan.steps if s.how is How.BY_HAND]
    assert {plan.findings[i].check for s in by_hand for i in s.findings} == {
        "path.not-on-hyperv-host", "policy.settings", "host.path-reachable", "host.clock-skew"}
    # the clock and vmms are apply's (host steps); the stale DNS record is not on a machine apply reaches
    host_kinds = {s.action.kind for s in plan.steps if s.how is How.HOST}
    assert {"host.time-sync", "host.start-service"} <= host_kinds
    assert all(s.by_hand and s.by_hand.startswith("it cannot be scripted") for s in by_hand)
    # every AD action names the site's DC: the plan runs against that one
    assert all(s.action.owner and s.action.owner.name == "dc1.lab.test" for s in plan.steps if s.how is How.DIRECTORY)


def test_warnings_are_planned_when_asked(lab: Lab) -> None:
    plan = lab.plan(fail_on="warn")
    assert {f.status.value for f in plan.findings} == {"fail", "warn"}
    free_space = next(i for i, f in enumerate(plan.findings) if f.check == "path.free-space")
    assert any(free_space in s.findings and s.how is How.BY_HAND for s in plan.steps)


@pytest.mark.parametrize(("action", "way"), [
    (t.ManualStep(text="move it"), How.BY_HAND),
    (t.ConfigureWinRMListener(owner=t.hyperv_host("hv01"), computer_name="HV01", dns_name="hv01", scheme="https",
                              port=5986, before="tls"), How.BY_HAND),
    (t.AllowDelegationFrom(computer="FS11", principals=["HV01"], computer_domain="fabrikam.com",
                           owner=t.Owner(kind="directory", name="dc1")), How.BY_HAND),
    (t.AllowDelegationFrom(computer="FS11", principals=["HV01"], owner=t.Owner(kind="directory", name="dc1")),
     How.DIRECTORY),
    (t.AddDelegationValues(computer="HV01", values=["cifs/fs"]), How.BY_HAND),  # no DC bound: nowhere to send it
    (t.CreateFolder(owner=t.file_server("fs01"), local_path="D:\\x"), How.HOST),
    (t.RefreshTickets(owner=t.hyperv_host("hv01")), How.HOST),
    # issue 13's actions: installing a role needs a restart (by hand); the others apply carries out
    (t.InstallRole(owner=t.hyperv_host("hv01")), How.BY_HAND),
    (t.StartService(owner=t.hyperv_host("hv01"), service="vmms", before="Stopped"), How.HOST),
    (t.SyncTime(owner=t.hyperv_host("hv01"), before_type="NTP"), How.HOST),
    (t.ReplicaServerSettings(owner=t.hyperv_host("hv11"), after={"ReplicationEnabled": True}), How.HOST),
    (t.ReplicaAuthorization(owner=t.hyperv_host("hv11"), allowed_primary_server="hv01.lab.test",
                            storage_location="D:\\Replica"), How.HOST),
    (t.AcceptAnyServerName(owner=t.file_server("fs01"), alias="files.lab.test"), How.HOST),
])

def test_how_apply_carries_each_action_out(action: t.ActionBase, way: How) -> None:
    assert how(action)[0] is way


def test_installing_a_role_is_by_hand_and_says_why() -> None:
    way, why = how(t.InstallRole(owner=t.hyperv_host("hv01.lab.test")))
    assert way is How.BY_HAND and why is not None
    assert "restart of hv01.lab.test" in why and "apply restarts no machine" in why


def test_a_plan_reads_back_as_written_and_an_edited_action_is_refused(lab: Lab, tmp_path: Path) -> None:
    plan = lab.plan()
    path = tmp_path / "plan.json"
    path.write_text(plan_text(plan))
    assert load_plan(path) == plan
    data = json.loads(path.read_text())
    data["steps"][0]["action"]["values"] = ["cifs/dc1.lab.test"]  # delegation to the DC: never planned
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="does not match its content"):
        load_plan(path)


@pytest.mark.parametrize(("text", "said"), [
    ("not json", "not JSON"),
    ('{"schema": "offlineprep/results/v1"}', "not an offlineprep plan"),
    ('{"schema": "offlineprep/plan/v1", "steps": 3}', "not a valid offlineprep plan"),
])
def test_what_is_not_a_plan_is_a_usage_error(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(UsageError, match=said):
        load_plan(path)


def test_a_plan_runs_only_against_the_dc_it_was_made_for(lab: Lab, tmp_path: Path) -> None:
    plan = lab.plan()
    check_site(plan, "dc1.lab.test", True, tmp_path / "p.json")
    with pytest.raises(UsageError, match=r"sends its AD steps to dc1\.lab\.test"):
        check_site(plan, "dc2.lab.test", True, tmp_path / "p.json")
    with pytest.raises(UsageError, match=r"no \[winrm\] table"):
        check_site(plan, "dc1.lab.test", False, tmp_path / "p.json")
