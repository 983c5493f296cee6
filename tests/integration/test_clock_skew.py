"""host.clock-skew against a real domain controller: the collector reads rootDSE currentTime from
Samba over LDAPS in the rootDSE search it already makes (no search more), and the check compares it
with the clocks the simulated Windows hosts report through pywinrm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from builders import site
from samba import ADMIN_PASSWORD, SambaDC

from offlineprep.collect.directory import collect_directory
from offlineprep.collect.hosts import collect_hosts
from offlineprep.collect.requests import DirectoryRequest, HostRequest
from offlineprep.engine import CheckContext, discover, run_check
from offlineprep.facts import Facts, ToolStamp
from offlineprep.lab.windows import SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.model import Status
from offlineprep.site import DirectoryConfig, Site, WinRMConfig

PASSWORD = "Clock-S3cret-13"


def dc_config(dc: SambaDC) -> DirectoryConfig:
    return DirectoryConfig(server=dc.url, user="Administrator@lab.test", ca_file=str(dc.ca_file), timeout_seconds=5)


def test_the_dcs_current_time_is_read_in_the_root_dse_search(samba_dc: SambaDC) -> None:
    before = datetime.now(UTC)
    facts = collect_directory(dc_config(samba_dc), DirectoryRequest(computers=["hv01.lab.test"]), ADMIN_PASSWORD)
    after = datetime.now(UTC)
    assert facts.error is None, facts.error
    assert facts.current_time is not None and facts.current_time_observed_at is not None
    # the DC runs on this machine: its clock is this machine's, to its one-second resolution
    assert before - timedelta(seconds=1) <= facts.current_time <= after + timedelta(seconds=1)
    assert before <= facts.current_time_observed_at <= after
    assert facts.searches <= 4  # rootDSE, crossRef, one batch, group names: currentTime cost no search


def test_clock_skew_judges_the_hosts_against_samba(samba_dc: SambaDC) -> None:
    the_site: Site = site(directory={"server": samba_dc.url, "user": "Administrator@lab.test",
                                     "ca_file": str(samba_dc.ca_file)},
                          source={"hosts": ["hv01.lab.test", "hv02.lab.test"], "export_path": r"\\fs01.lab.test\Exp"},
                          target={"hosts": ["hv11.lab.test"], "import_path": r"\\fs11.lab.test\Imp"})
    directory = collect_directory(dc_config(samba_dc), DirectoryRequest(computers=["hv01.lab.test"]), ADMIN_PASSWORD)
    sims = {"hv01.lab.test": SimulatedHost("HV01.lab.test", hyperv_installed=True),
            "hv02.lab.test": SimulatedHost("HV02.lab.test", hyperv_installed=True, clock_offset_seconds=-480),
            "hv11.lab.test": SimulatedHost("HV11.lab.test", hyperv_installed=True, clock_offset_seconds=90),
            "fs01.lab.test": SimulatedHost("FS01.lab.test"), "fs11.lab.test": SimulatedHost("FS11.lab.test")}
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=10)
    with WinRMEndpoint(sims, password=PASSWORD) as ep:
        hosts = collect_hosts(config, [HostRequest(name, hyperv=name.startswith("hv")) for name in sims], PASSWORD,
                              session_factory=ep.protocol_factory(10))
    facts = Facts(tool=ToolStamp(version="test"), directory=directory, hosts=hosts)
    check = next(c for c in discover(include_entry_points=False).checks if c.id == "host.clock-skew")
    found = {f.subject: f for f in run_check(check, CheckContext(site=the_site, facts=facts))}
    assert {s: f.status for s, f in found.items()} == {
        "hv01.lab.test": Status.PASS, "hv02.lab.test": Status.FAIL, "hv11.lab.test": Status.WARN,
        "fs01.lab.test": Status.PASS, "fs11.lab.test": Status.PASS}
    assert "8.0 min behind" in found["hv02.lab.test"].message
    assert found["hv02.lab.test"].evidence["domain_controller"] == samba_dc.url


def test_the_domain_functional_level_is_read_in_the_same_root_dse_search(samba_dc: SambaDC) -> None:
    """rootDSE domainFunctionality (ad.account-delegable: Protected Users blocks delegation only from the
    2012 R2 level) is the domain NC's msDS-Behavior-Version, as the DC's own database holds it."""
    import subprocess

    facts = collect_directory(dc_config(samba_dc), DirectoryRequest(computers=["hv01.lab.test"]), ADMIN_PASSWORD)
    assert facts.error is None, facts.error
    stored = subprocess.run(["ldbsearch", "-H", str(samba_dc.sam), "-s", "base", "-b", samba_dc.base_dn,
                             "msDS-Behavior-Version"], capture_output=True, text=True, check=True).stdout
    level = next(int(line.split(":", 1)[1]) for line in stored.splitlines() if line.startswith("msDS-Behavior-Version:"))
    assert facts.domain_functionality == level
    assert facts.searches <= 4  # the level cost no search of its own
