"""The site file's own lists: hosts of each side, the paths, the accounts, the directory's domain.

Always first: what an administrator wrote keeps its spelling (findings name subjects as written),
and later sources add to it. A name in `hosts` may be a failover cluster's name: the cluster source
finds out when the name answers for a cluster (docs/inventory.md, "Failover clusters").
"""

from __future__ import annotations

from typing import ClassVar

from offlineprep.collect.sources import DiscoveryContext
from offlineprep.inventory import AccountKind, Origin, Role, SourceReport
from offlineprep.site import Site


class SiteFileSource:
    name: ClassVar[str] = "site-file"
    after: ClassVar[tuple[str, ...]] = ()

    def applies(self, site: Site) -> bool:
        return True

    def discover(self, context: DiscoveryContext) -> None:
        site, inventory = context.site, context.inventory
        for host in site.source_hosts:
            inventory.add_host(host, Role.SOURCE, Origin.SITE_FILE)
        for host in site.target_hosts:
            inventory.add_host(host, Role.TARGET, Origin.SITE_FILE)
        if site.source.export_path is not None:
            inventory.add_path(site.source.export_path, "export", site.source.export_server)
        if site.target.import_path is not None:
            inventory.add_path(site.target.import_path, "import", site.target.import_server)
        accounts = getattr(site, "accounts", None)
        if accounts is not None and accounts.vmm_service:
            inventory.add_account(accounts.vmm_service, AccountKind.VMM_SERVICE, Origin.SITE_FILE)
        for run_as in accounts.run_as if accounts is not None else []:
            inventory.add_account(run_as, AccountKind.RUN_AS, Origin.SITE_FILE)
        inventory.report(SourceReport(source=self.name, hosts=len(site.all_hosts),
                                      accounts=len(site.accounts_to_check)))
