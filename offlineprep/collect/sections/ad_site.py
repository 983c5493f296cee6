"""Section `ad_site`: the Hyper-V host's Active Directory site (ad.replicated shows which DCs serve it).

Net Logon stores the site it found in Netlogon\\Parameters DynamicSiteName and uses a SiteName an
administrator entered instead ("SiteNameTimeout",
https://learn.microsoft.com/previous-versions/cc958488(v=technet.10)); DsGetSiteName returns the same
("the name of the site where a computer resides",
https://learn.microsoft.com/windows/win32/api/dsgetdc/nf-dsgetdc-dsgetsitenamew)."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Part, Reading, Section


class AdSiteAnswer(Part):
    site_name: str | None = None  # Netlogon\Parameters SiteName: set by an administrator, and then it wins
    dynamic_site_name: str | None = None  # Netlogon\Parameters DynamicSiteName: the site Net Logon found


def site(answer: AdSiteAnswer | None) -> str | None:
    """The site Net Logon uses: SiteName when set, else DynamicSiteName (NULs and blanks at the end dropped)."""
    if answer is None:
        return None
    for value in (answer.site_name, answer.dynamic_site_name):
        cleaned = (value or "").replace("\x00", "").strip()
        if cleaned:
            return cleaned
    return None


def facts(reading: Reading) -> dict[str, Any]:
    return {"ad_site": site(reading.answer.ad_site)}


SECTION = Section("ad_site", {"ad_site": AdSiteAnswer | None}, facts)
