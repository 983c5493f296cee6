"""Checks take their subjects from the inventory, never from the site file's lists: the hosts VMM
and the clusters found are judged, a node that is down is an error of that node only, and every
finding about a node names its cluster."""

from __future__ import annotations

from builders import (
    CHECKS,
    DOM,
    computer,
    directory,
    facts,
    hosts,
    hyperv,
    site,
    statuses,
)

from offlineprep.engine import CheckContext, evaluate
from offlineprep.facts import CollectionError, HostFacts
from offlineprep.inventory import AccountKind, InventoryBuilder, NodeState, Origin, Role, site_inventory
from offlineprep.model import Finding


def vmm_inventory() -> InventoryBuilder:
    """The builders' site as VMM would describe it: its hosts, plus a two-node cluster on the source side,
    and VMM's service account instead of the site file's."""
    builder = InventoryBuilder()
    base = site_inventory(site())
    for h in base.hosts:
        builder.add_host(h.name, h.role, Origin.SITE_FILE)
    for p in base.paths:
        builder.add_path(p.raw, p.role, p.server)
    cluster = builder.add_cluster("hvc1.contoso.com", Role.SOURCE, Origin.VMM, domain="contoso.com")
    builder.add_nodes(cluster, [("hvc1-n1.contoso.com", NodeState.UP), ("hvc1-n2.contoso.com", NodeState.DOWN)],
                      Origin.CLUSTER)
    builder.add_account("CONTOSO\\svc-vmm", AccountKind.VMM_SERVICE, Origin.VMM)
    builder.add_account("CONTOSO\\svc-runas", AccountKind.RUN_AS, Origin.VMM, vmm_run_as="Host Admins")
    return builder


def run_all(check_ids: list[str]) -> list[Finding]:
    d = directory()
    d.computers["hvc1-n1.contoso.com"] = computer("hvc1-n1.contoso.com", 2101, ["cifs/fs01.contoso.com", "cifs/FS01",
                                                                              "cifs/fs11.contoso.com", "cifs/FS11"])
    d.computers["hvc1-n2.contoso.com"] = computer("hvc1-n2.contoso.com", 2102)
    h = hosts()
    h["hvc1-n1.contoso.com"] = hyperv("hvc1-n1.contoso.com", "10.0.0.21")
    # the pipeline does not ask a node its cluster reports down, and records why (pipeline._collect_hosts)
    h["hvc1-n2.contoso.com"] = HostFacts(name="hvc1-n2.contoso.com", reachable=False,
                                         error=CollectionError.down_node("hvc1-n2.contoso.com", "hvc1.contoso.com"))
    the_facts = facts(d, h)
    the_facts.inventory = vmm_inventory().build()
    return evaluate([CHECKS[c] for c in check_ids], CheckContext(site=site(), facts=the_facts))


def test_the_hosts_the_inventory_names_are_judged_not_the_site_files_lists() -> None:
    findings = run_all(["ad.host-account"])
    assert statuses(findings) == {("hv01.contoso.com", "pass"), ("hv02", "pass"), ("hv11.contoso.com", "pass"),
                                  ("hvc1-n1.contoso.com", "pass"), ("hvc1-n2.contoso.com", "pass")}


def test_a_node_that_is_down_is_an_error_of_that_node_only_and_names_its_cluster() -> None:
    findings = run_all(["host.reachable", "ad.host-account", "policy.same-host-os"])
    assert ("hvc1-n2.contoso.com", "pass") in statuses(findings)  # its computer account: read from AD, judged
    down = [f for f in findings if f.subject == "hvc1-n2.contoso.com" and f.check == "host.reachable"]
    assert down and all(f.status.value == "error" for f in down)
    assert all("is down in cluster hvc1.contoso.com (Get-ClusterNode)" in f.message for f in down)
    assert all(f.cause is not None and f.cause.kind == "down" for f in down)
    assert not [f for f in findings if f.subject == "hvc1.contoso.com"]  # never the cluster
    up = [f for f in findings if f.subject == "hvc1-n1.contoso.com"]
    assert up and all(f.status.value != "error" for f in up)


def test_every_finding_about_a_node_names_its_cluster() -> None:
    findings = run_all(["ad.host-account", "ad.delegation", "host.reachable"])
    nodes = [f for f in findings if f.subject.startswith("hvc1-")]
    assert nodes and all(f.evidence.get("cluster") == "hvc1.contoso.com" for f in nodes)
    assert all("cluster" not in f.evidence for f in findings if not f.subject.startswith("hvc1-"))


def test_a_cluster_node_on_the_source_side_is_judged_for_delegation_to_both_paths() -> None:
    findings = run_all(["ad.delegation"])
    assert ("hvc1-n1.contoso.com->fs01.contoso.com", "pass") in statuses(findings)
    assert ("hvc1-n2.contoso.com->fs11.contoso.com", "fail") in statuses(findings)


def test_the_vmm_service_account_comes_from_the_inventory() -> None:
    builder = vmm_inventory()
    builder.replace_vmm_service("CONTOSO\\vmm01$", Origin.VMM, note="LocalSystem")
    the_facts = facts()
    the_facts.inventory = builder.build()
    findings = evaluate([CHECKS["path.ntfs-full-control"]], CheckContext(site=site(), facts=the_facts))
    assert {f.account for f in findings} == {"CONTOSO\\vmm01$"}
    assert DOM  # the account is judged in the directory; it is not there: error, never the site file's account
    assert all(f.status.value == "error" for f in findings)


def test_without_any_service_account_the_permission_checks_say_so() -> None:
    builder = vmm_inventory()
    builder.accounts = [a for a in builder.accounts if a.kind is not AccountKind.VMM_SERVICE]
    the_facts = facts()
    the_facts.inventory = builder.build()
    findings = evaluate([CHECKS["path.share-full-control"]], CheckContext(site=site(), facts=the_facts))
    assert findings and all(f.status.value == "error" and "VMM service account is not known" in f.message
                            for f in findings)


def test_the_checks_of_issue_13_take_their_subjects_from_the_inventory_too() -> None:
    """host.clock-skew, host.path-reachable, host.hyperv-ready and replica.server judge the nodes VMM
    and the cluster named (the up node judged, the down node an error of its own), not only the site
    file's hosts; path.alias and path.server-role judge the inventory's paths."""
    host_checks = ["host.clock-skew", "host.path-reachable", "host.hyperv-ready"]
    findings = run_all([*host_checks, "path.alias", "path.server-role"])
    for check_id in host_checks:
        judged = {f.subject: f.status.value for f in findings if f.check == check_id}
        assert "hvc1-n1.contoso.com" in judged, check_id
        assert judged.get("hvc1-n2.contoso.com") == "error", (check_id, judged)
    assert {f.subject for f in findings if f.check == "path.server-role"} == {"fs01.contoso.com", "fs11.contoso.com"}
    assert {f.subject for f in findings if f.check == "path.alias"} == {r"\\fs01.contoso.com\ASRExport",
                                                                        r"\\fs11.contoso.com\ASRImport"}
