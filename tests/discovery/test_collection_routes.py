"""The collection routes from the inventory: each object from its own domain's directory, one
PowerShell per machine, nothing asked of a node its cluster reports down."""

from __future__ import annotations

import json
from pathlib import Path

from offlineprep.collect.routing import DomainDirectory, route_collection
from offlineprep.collect.sources import DiscoveryContext
from offlineprep.collect.sources.sitefile import SiteFileSource
from offlineprep.engine import Need
from offlineprep.inventory import AccountKind, Inventory, InventoryBuilder, NodeState, Origin, ReplicaBroker, Role
from offlineprep.pipeline import collection_scope
from offlineprep.site import Site

DEMO_SITE = Site.model_validate(json.loads((Path(__file__).parents[1] / "fixtures" / "facts_v1" / "demo-site.json")
                                           .read_text()))


def site_inventory(site: Site) -> Inventory:
    context = DiscoveryContext(site=site, inventory=InventoryBuilder(), run=None)
    SiteFileSource().discover(context)
    return context.inventory.build()


def test_one_directory_asks_what_the_site_file_alone_asked() -> None:
    old = collection_scope(DEMO_SITE, frozenset(Need))
    new = route_collection(site_inventory(DEMO_SITE), [DomainDirectory("lab.test", "LAB")])
    assert new.directory == old.directory
    assert [(h.name, h.hyperv, [p.raw for p in h.paths]) for h in new.hosts] == \
        [(h.name, h.hyperv, [p.raw for p in h.paths]) for h in old.hosts]


def test_every_object_is_read_from_its_own_domain() -> None:
    builder = InventoryBuilder()
    builder.add_host("hv01.lab.test", Role.SOURCE, Origin.VMM, domain="lab.test")
    builder.add_host("hv02", Role.SOURCE, Origin.SITE_FILE)  # short: the first directory's
    builder.add_host("hv11.fabrikam.test", Role.TARGET, Origin.VMM)
    builder.add_path(r"\\fs01.lab.test\Export", "export")
    builder.add_path(r"\\fs11.fabrikam.test\Import", "import")

    builder.add_account("LAB\\svc-vmm", AccountKind.VMM_SERVICE, Origin.SITE_FILE)
    builder.add_account("FABRIKAM\\svc-runas", AccountKind.RUN_AS, Origin.SITE_FILE)
    builder.add_account("svc-hv@fabrikam.test", AccountKind.RUN_AS, Origin.SITE_FILE)
    builder.add_account("OTHER\\svc-x", AccountKind.RUN_AS, Origin.SITE_FILE)  # no directory: the first one
    routes = route_collection(builder.build(), [DomainDirectory("lab.test", "LAB"), DomainDirectory("fabrikam.test", "FABRIKAM")])
    assert list(routes.directories) == ["lab.test", "fabrikam.test"]
    lab, fabrikam = routes.directories["lab.test"], routes.directories["fabrikam.test"]
    assert lab.computers == ["hv01.lab.test", "hv02", "fs01.lab.test"]
    assert fabrikam.computers == ["hv11.fabrikam.test", "fs11.fabrikam.test"]
    assert (lab.spn_names, fabrikam.spn_names) == (["fs01.lab.test"], ["fs11.fabrikam.test"])
    assert lab.principals == ["LAB\\svc-vmm", "OTHER\\svc-x"]
    assert fabrikam.principals == ["FABRIKAM\\svc-runas", "svc-hv@fabrikam.test"]
    assert routes.directory is None  # two directories: no single request


def test_a_node_its_cluster_reports_down_is_not_asked_and_the_brokers_account_is_read() -> None:
    builder = InventoryBuilder()
    cluster = builder.add_cluster("HVC1.lab.test", Role.SOURCE, Origin.VMM, domain="lab.test")
    builder.add_nodes(cluster, [("hvc1-n1.lab.test", NodeState.UP), ("hvc1-n2.lab.test", NodeState.DOWN)], Origin.CLUSTER)

    cluster.broker = ReplicaBroker(resource="Virtual Machine Replication Broker", fqdn="hvc1-brk.lab.test",
                                   computer_account="HVC1-BRK$")
    routes = route_collection(builder.build(), [DomainDirectory("lab.test")])
    assert [h.name for h in routes.hosts] == ["hvc1-n1.lab.test"]
    assert routes.down_nodes == {"hvc1-n2.lab.test": "HVC1.lab.test"}
    assert routes.directories["lab.test"].computers == ["hvc1-n1.lab.test", "hvc1-n2.lab.test", "hvc1-brk.lab.test"]


def test_only_what_the_checks_need() -> None:
    routes = route_collection(site_inventory(DEMO_SITE), [DomainDirectory("lab.test")], hyperv_hosts=False,
                           path_computers=False)
    assert routes.hosts == [] and routes.directory is not None
    routes = route_collection(site_inventory(DEMO_SITE), [DomainDirectory("lab.test")], directory=False)
    assert routes.directories == {} and len(routes.hosts) == 5


def test_hyperv_replica_reads_each_hosts_computer_account_as_a_principal_in_its_own_domain() -> None:
    """path.host-accounts: the export and import run as the hosts' System accounts (DOMAIN\\HOST$)."""
    builder = InventoryBuilder()
    builder.add_host("hv01.lab.test", Role.SOURCE, Origin.VMM, domain="lab.test")
    builder.add_host("hv11.fabrikam.test", Role.TARGET, Origin.VMM)
    builder.add_host("10.0.0.9", Role.TARGET, Origin.SITE_FILE)  # an address names no account
    inventory = builder.build()
    directories = [DomainDirectory("lab.test", "LAB"), DomainDirectory("fabrikam.test", "FABRIKAM")]
    routes = route_collection(inventory, directories, host_accounts=True)
    assert routes.directories["lab.test"].principals == ["lab.test\\HV01$"]
    assert routes.directories["fabrikam.test"].principals == ["fabrikam.test\\HV11$"]
    plain = route_collection(inventory, directories)
    assert all(not r.principals for r in plain.directories.values())
