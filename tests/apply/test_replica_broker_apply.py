"""Issue 19 item 3: on a cluster, the Replica server settings are the Replica Broker's, set once for
every node through the broker's name, never node by node. Failed before: each node got a fix of its
own, owned by the node."""

from __future__ import annotations

from apply_lab import Lab

from offlineprep.apply.model import Outcome
from offlineprep.model import Status
from offlineprep.site import Site


def test_a_clustered_replica_server_is_enabled_once_through_its_broker(lab: Lab) -> None:
    data = lab.site.model_dump(mode="json", exclude_none=True)
    data.setdefault("policy", {}).update(manager="hyperv-replica", authentication="kerberos")
    lab.demo.site = Site.model_validate(data)
    n1, n2 = lab.sim("hvr-n1.lab.test"), lab.sim("hvr-n2.lab.test")
    assert n1.cluster is not None and n1.cluster is n2.cluster
    n1.cluster.replication = {"enabled": False, "kerberos_port": 8083, "certificate_port": 8084,
                              "allowed_authentication": "Kerberos", "allowed_from_any_server": True,
                              "default_storage_location": "D:\\Replica"}
    n1.directories.append("D:\\Replica")
    n2.directories.append("D:\\Replica")
    plan = lab.plan()
    steps = [s for s in plan.steps if s.action.kind == "host.replica-server"
             and s.action.owner is not None and "hvr" in (s.action.owner.name or "").casefold()]
    assert [s.action.owner.name for s in steps if s.action.owner] == ["HVR-BRK.lab.test"]
    record = lab.apply(plan)
    mine = [s for s in record.steps if s.action.kind == "host.replica-server"
            and s.action.owner is not None and s.action.owner.name == "HVR-BRK.lab.test"]
    assert [s.outcome for s in mine] == [Outcome.APPLIED], [s.message for s in mine]
    assert bool(n1.replication_server().ReplicationEnabled) and bool(n2.replication_server().ReplicationEnabled)
    assert record.verification is not None
    assert {v.status for v in record.verification.findings if v.finding.check == "replica.server"
            and v.finding.subject.startswith("hvr-")} == {Status.PASS}
