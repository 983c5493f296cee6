"""The site file's own lists: hosts of each side, the paths, the accounts, the directory's domain.

Always first: what an administrator wrote keeps its spelling (findings name subjects as written),
and later sources add to it. A name in `hosts` may be a failover cluster's name: the cluster source
finds out when the name answers for a cluster (docs/inventory.md, "Failover clusters").
"""

from __future__ import annotations

from typing import ClassVar

from offlineprep.collect.sources import DiscoveryContext, register
from offlineprep.inventory import SourceReport, add_site_lists
from offlineprep.site import Site


@register
class SiteFileSource:
    name: ClassVar[str] = "site-file"
    after: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def applies(cls, site: Site, *, collects_hosts: bool) -> bool:
        return True  # every site has its lists

    @classmethod
    def for_site(cls, site: Site) -> SiteFileSource:
        return cls()

    def discover(self, context: DiscoveryContext) -> None:
        add_site_lists(context.inventory, context.site)
        context.inventory.report(SourceReport(source=self.name, hosts=len(context.site.all_hosts),
                                              accounts=len(context.site.accounts_to_check)))

