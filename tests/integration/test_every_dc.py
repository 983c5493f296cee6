"""Every writable DC (issue 22) against real Samba: the session's one DC is found in its configuration
at no search more and gives today's verdicts; its replication metadata names it as the originator of a
change. (The two-DC tests, on tests/integration/dc_pair.py, follow below.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from builders import site
from samba import ADMIN_PASSWORD, SambaDC

from offlineprep.collect import dc_readings
from offlineprep.collect import directory as directory_module
from offlineprep.collect.directory import collect_directory, read_dc
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.engine import CheckContext, discover, run_check
from offlineprep.facts import Facts, ToolStamp
from offlineprep.model import Status
from offlineprep.site import DirectoryConfig

CHECK = next(c for c in discover(include_entry_points=False).checks if c.id == "ad.replicated")


def dc_config(dc: SambaDC) -> DirectoryConfig:
    return DirectoryConfig(server=dc.url, user=dc.admin_upn, ca_file=str(dc.ca_file), timeout_seconds=10)


def test_the_one_dc_is_found_in_the_configuration_at_no_search_more(samba_dc: SambaDC) -> None:
    samba_dc.add_accounts(samba_dc.computer_ldif("EVDC01", delegate_to=("cifs/fs01.lab.test",)))
    facts = collect_directory(dc_config(samba_dc), DirectoryRequest(computers=["evdc01.lab.test"]), ADMIN_PASSWORD)
    assert facts.error is None, facts.error
    [dc] = facts.domain_controllers or []
    assert (dc.host_name.casefold(), dc.site, dc.named, dc.read_only) == (
        samba_dc.dc_fqdn, "Default-First-Site-Name", True, False)
    assert dc.invocation_id and dc.ntds_settings and dc.ntds_settings.startswith("CN=NTDS Settings,CN=DC1,")
    assert dc.objects == {}  # one writable DC: nothing to compare, nothing read again
    assert facts.searches <= 4  # rootDSE, configuration (crossRef and DCs), one batch, group names
    the_site = site(directory={"server": samba_dc.url, "user": samba_dc.admin_upn, "ca_file": str(samba_dc.ca_file)})
    [finding] = run_check(CHECK, CheckContext(site=the_site, facts=Facts(tool=ToolStamp(version="t"), directory=facts)))
    assert finding.status == Status.PASS and "one writable domain controller" in finding.message


def test_sambas_replication_metadata_names_the_dc_and_the_time_of_a_change(samba_dc: SambaDC) -> None:
    """Samba 4.17 does not construct msDS-ReplAttributeMetaData; its replPropertyMetaData gives the same rows."""
    dn = samba_dc.computer("EVDC02")
    before = datetime.now(UTC) - timedelta(seconds=2)
    samba_dc.tool("delegation", "add-service", "EVDC02$", "cifs/fs01.lab.test")
    facts = collect_directory(dc_config(samba_dc), DirectoryRequest(computers=["evdc02.lab.test"]), ADMIN_PASSWORD)
    dcs = facts.domain_controllers or []
    conn = directory_module.connect(dc_config(samba_dc), ADMIN_PASSWORD)
    try:
        reader = directory_module._Reader(conn)
        dcs[0].objects = read_dc(reader, samba_dc.base_dn, [dn], 100)
        assert reader.searches == 1
    finally:
        conn.unbind()
    dc_readings.name_originators(dcs)
    held = dcs[0].objects[dn]
    assert held.found and held.values["msDS-AllowedToDelegateTo"] == ["cifs/fs01.lab.test"]
    [change] = [c for c in held.changes if c.attribute == "msDS-AllowedToDelegateTo"]
    assert change.version == 1 and change.changed_at is not None
    assert before <= change.changed_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert change.originating_dsa == dcs[0].ntds_settings  # by its invocation ID
