"""inventory.sources: VMM and the clusters answered, or the run says which subjects it could not know."""

from __future__ import annotations

from builders import CHECKS, facts, site, statuses

from offlineprep.engine import CheckContext, evaluate
from offlineprep.inventory import InventoryBuilder, NodeState, Origin, ReplicaBroker, Role, SourceReport
from offlineprep.model import Finding


def judge(builder: InventoryBuilder) -> list[Finding]:
    the_facts = facts()
    the_facts.inventory = builder.build()
    return evaluate([CHECKS["inventory.sources"]], CheckContext(site=site(), facts=the_facts))


def test_vmm_and_a_cluster_that_answered_pass() -> None:
    builder = InventoryBuilder()
    builder.add_host("hv01.contoso.com", Role.SOURCE, Origin.VMM)
    cluster = builder.add_cluster("hvc1.contoso.com", Role.SOURCE, Origin.VMM, domain="contoso.com")
    builder.add_nodes(cluster, [("n1.contoso.com", NodeState.UP), ("n2.contoso.com", NodeState.DOWN)], Origin.CLUSTER)
    cluster.broker = ReplicaBroker(resource="Virtual Machine Replication Broker", fqdn="hvc1-brk.contoso.com")
    builder.report(SourceReport(source="vmm", machine="vmm01.contoso.com", hosts=3, clusters=1, accounts=2,
                                powershell_commands=1))
    findings = judge(builder)
    assert statuses(findings) == {("vmm01.contoso.com", "pass"), ("hvc1.contoso.com", "pass")}
    cluster_finding = next(f for f in findings if f.subject == "hvc1.contoso.com")
    assert "Replica Broker hvc1-brk.contoso.com" in cluster_finding.message
    assert "down: n2.contoso.com" in cluster_finding.message  # named here, judged (error) on the node itself


def test_a_vmm_that_refused_is_an_error_naming_why() -> None:
    builder = InventoryBuilder()
    builder.report(SourceReport(source="vmm", machine="vmm01.contoso.com", status="error", kind="access-denied",
                                message="VMM on vmm01.contoso.com refused the connection: You do not have permission"))
    (finding,) = judge(builder)
    assert (finding.subject, finding.status.value) == ("vmm01.contoso.com", "error")
    assert "access-denied" in finding.message and "You do not have permission" in finding.message


def test_a_partial_answer_warns_and_an_unexpanded_cluster_is_an_error() -> None:
    builder = InventoryBuilder()
    builder.report(SourceReport(source="vmm", machine="vmm01.contoso.com", status="partial",
                                notes=["cloud Platinum (source): VMM has no cloud named Platinum"]))
    cluster = builder.add_cluster("hvc9.contoso.com", Role.TARGET, Origin.SITE_FILE)
    cluster.problem = "hvc9.contoso.com could not be asked for its nodes: connection refused"
    findings = judge(builder)
    assert statuses(findings) == {("vmm01.contoso.com", "warn"), ("hvc9.contoso.com", "error")}


def test_a_site_file_host_vmm_does_not_manage_is_a_warning_on_that_host() -> None:
    builder = InventoryBuilder()
    builder.add_host("hv99.contoso.com", Role.SOURCE, Origin.SITE_FILE)
    builder.add_host("hv01.contoso.com", Role.SOURCE, Origin.SITE_FILE)
    builder.add_host("hv01.contoso.com", Role.SOURCE, Origin.VMM)
    builder.report(SourceReport(source="vmm", machine="vmm01.contoso.com", hosts=1))
    assert ("hv99.contoso.com", "warn") in statuses(judge(builder))
    assert ("hv01.contoso.com", "warn") not in statuses(judge(builder))


def test_without_vmm_or_clusters_there_is_nothing_to_say() -> None:
    assert judge(InventoryBuilder()) == []
