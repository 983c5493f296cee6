"""Every writable DC (issue 22) against real Samba: the session's one DC is found in its configuration
at no search more and gives today's verdicts; its replication metadata names it as the originator of a
change. Then two replicating DCs (tests/integration/dc_pair.py): a delegation written on one DC only is
found and named, READY once they converge, a DC that cannot be reached is one cause of errors, and
apply's wait for replication returns once both DCs agree."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from builders import site
from dc_pair import DCPair
from samba import ADMIN_PASSWORD, UF_WORKSTATION_TRUST_ACCOUNT, SambaDC

from offlineprep.apply.replication import wait_for_replication
from offlineprep.collect import dc_readings
from offlineprep.collect import directory as directory_module
from offlineprep.collect.directory import collect_directory, read_dc
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.engine import CheckContext, discover, run_check
from offlineprep.facts import DirectoryFacts, Facts, ToolStamp
from offlineprep.model import Finding, Status
from offlineprep.pipeline import Collectors
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


# ---- two DCs of PAIR.TEST (tests/integration/dc_pair.py) -------------------------------------------------------


def pair_config(pair: DCPair) -> DirectoryConfig:
    return DirectoryConfig(server=pair.dc1.url, user=pair.admin_user, ca_file=str(pair.ca_bundle), timeout_seconds=15)


def judge(pair: DCPair, facts: DirectoryFacts) -> list[Finding]:
    the_site = site(directory={"server": pair.dc1.url, "user": pair.admin_user, "ca_file": str(pair.ca_bundle)})
    return run_check(CHECK, CheckContext(site=the_site, facts=Facts(tool=ToolStamp(version="t"), directory=facts)))


def test_a_delegation_written_on_one_dc_only_is_found_and_named_then_ready_after_converging(dc_pair: DCPair) -> None:
    pair = dc_pair
    pair.add_computer(pair.dc1, "PEV01", uac=UF_WORKSTATION_TRUST_ACCOUNT | 0x1000000)
    pair.converge()
    request = DirectoryRequest(computers=["pev01.pair.test"])
    with pair.inbound_paused(pair.dc2):
        pair.set_allowed_to_delegate_to(pair.dc1, "PEV01", ["cifs/pfs09.pair.test"])
        # the pause is an option on pdc2's NTDS Settings: pdc1, which is read, learns it by replication
        pair.wait_until(lambda: any(d["dn"].split(",")[1] == "CN=PDC2" and int(d["options"][0]) & 0x2
                                    for d in pair.ntds_settings(pair.dc1)))
        facts = collect_directory(pair_config(pair), request, pair.admin_password)
        assert facts.error is None, facts.error
        dc1, dc2 = facts.domain_controllers or []
        assert (dc1.host_name.casefold(), dc1.named, dc2.host_name.casefold(), dc2.inbound_disabled) == (
            pair.dc1.dc_fqdn, True, pair.dc2.dc_fqdn, True)
        assert dc1.searches == dc2.searches == 1 and dc2.error is None
        [failed] = [f for f in judge(pair, facts) if f.status == Status.FAIL]
        assert failed.subject == "pev01.pair.test"
        assert failed.message.startswith(
            f"msDS-AllowedToDelegateTo (constrained delegation) of pev01.pair.test holds cifs/pfs09.pair.test on "
            f"{dc1.host_name} (changed at ")
        assert f"on {dc1.host_name}, version " in failed.message  # the originating DC, by its invocation ID
        assert f"not yet on {dc2.host_name} (site Default-First-Site-Name), whose inbound replication is disabled" \
            in failed.message
        assert failed.remediation is not None and f"repadmin /syncall {dc1.host_name} /AdeP" in failed.remediation.powershell
    # inbound_paused converged on its way out: both DCs hold it, and every DC agrees
    facts = collect_directory(pair_config(pair), request, pair.admin_password)
    assert {f.status for f in judge(pair, facts)} == {Status.PASS}


def test_a_dc_that_cannot_be_reached_is_one_cause_of_errors(dc_pair: DCPair) -> None:
    pair = dc_pair
    pair.add_computer(pair.dc1, "PEV03")
    pair.dc2.pause()  # SIGSTOP: it accepts nothing more until resumed
    try:
        facts = collect_directory(pair_config(pair).model_copy(update={"timeout_seconds": 3}),
                                  DirectoryRequest(computers=["pev03.pair.test"]), pair.admin_password)
    finally:
        pair.dc2.resume()
    assert facts.error is None and facts.computers["pev03.pair.test"].found
    findings = judge(pair, facts)
    assert findings and {f.status for f in findings} == {Status.ERROR}
    assert {f.cause.machine.casefold() for f in findings if f.cause} == {pair.dc2.dc_fqdn}


def test_apply_wait_replication_returns_once_both_dcs_agree(dc_pair: DCPair) -> None:
    """What apply --wait-replication does after its writes: dc1 was written while dc2 pulls nothing;
    replication comes 3 s later; the wait reads both DCs until they agree, and says so."""
    pair = dc_pair
    pair.add_computer(pair.dc1, "PEV02", uac=UF_WORKSTATION_TRUST_ACCOUNT | 0x1000000)
    pair.converge()
    the_site = site(directory={"server": pair.dc1.url, "user": pair.admin_user, "ca_file": str(pair.ca_bundle)},
                    source={"hosts": ["pev02.pair.test"], "export_path": r"\\pfs01.pair.test\Exp"},
                    target={"hosts": ["pfs01.pair.test"], "import_path": r"\\pfs01.pair.test\Imp"})
    pair.pause_inbound(pair.dc2)
    try:
        pair.set_allowed_to_delegate_to(pair.dc1, "PEV02", ["cifs/pfs01.pair.test"])  # as apply writes it
        before = wait_for_replication(the_site, CHECK, Collectors(), lambda env, purpose: pair.admin_password, 0)
        assert not before.agreed and any("not yet on pdc2.pair.test" in f.message for f in before.behind)
        timer = threading.Timer(3, pair.resume_and_converge)
        timer.start()
        polls: list[int] = []
        started = time.monotonic()
        wait = wait_for_replication(the_site, CHECK, Collectors(), lambda env, purpose: pair.admin_password, 60,
                                    on_poll=lambda n, s, behind: polls.append(len(behind)))
        timer.join()
    finally:
        pair.resume_and_converge()
    assert wait.agreed and wait.behind == []
    assert polls[0] >= 1 and polls[-1] == 0 and len(polls) >= 2  # behind at first, then every DC agrees
    assert 2.5 <= time.monotonic() - started < 60
    assert pair.read(pair.dc2, pair.computer_dn("PEV02"), "msDS-AllowedToDelegateTo") == ["cifs/pfs01.pair.test"]
