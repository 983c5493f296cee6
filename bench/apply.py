"""Benchmark: plan / apply / re-check / revert against the lab, for the demo and for N simulated hosts.

The real apply path runs: AD steps over ldap3 (to the lab's mock directory: this measures
offlineprep's side, not a DC's), host steps as one apply.ps1 command per machine through real
pywinrm to the loopback WS-Management endpoint, every WS-Management request delayed by L, machines
in parallel up to C. Prints one JSON line per run: machines, steps per kind, seconds for the plan
(collect + check), apply, the re-check and the revert, PowerShell commands sent by apply.

    python bench/apply.py --demo
    python bench/apply.py --hosts 200 --latency 0.05 --concurrency 16
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from offlineprep import pipeline
from offlineprep.apply import runner
from offlineprep.apply.planner import make_plan
from offlineprep.collect.directory import collect_directory
from offlineprep.collect.hosts import collect_hosts
from offlineprep.engine import discover, needs_of
from offlineprep.lab.directory import LabDirectory
from offlineprep.lab.windows import SimFolder, SimRule, SimShare, SimulatedHost, default_groups
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.site import Site

DOM = "S-1-5-21-1111-2222-3333"
PASSWORD = "pw"


def lab(n: int) -> tuple[LabDirectory, dict[str, SimulatedHost], Site]:
    """N Hyper-V hosts, half source hosts with Kerberos-only delegation (a protocol transition each, then
    their ticket purge), half target hosts without an inbound rule for the replication port (a firewall
    rule each), and two file servers whose shares grant the VMM account only Read (a share grant each)."""
    directory = LabDirectory()
    vmm = directory.user("svc-vmm")
    directory.user("svc-runas")
    directory.computer("FS01")
    directory.computer("FS11")
    names = [f"hv{i:04}.lab.test" for i in range(n)]
    half = max(1, n // 2)
    cifs = ["cifs/fs01.lab.test", "cifs/FS01", "cifs/fs11.lab.test", "cifs/FS11"]
    for i, name in enumerate(names):
        uac = 0x1000 if i < half else 0x1000 | 0x1000000
        directory.computer(name.split(".")[0].upper(), uac=uac, delegate_to=cifs)
    replica = {"enabled": True, "kerberos_port": 8083, "certificate_port": 8084, "allowed_authentication": "Certificate"}
    sims = {name: SimulatedHost(name.upper(), hyperv_installed=True, replication=replica,
                                firewall=[SimRule("VIRT-HVRHTTPSL-In-TCP-NoScope", ["443"], enabled=False)])
            for name in names}
    for fs, share in (("fs01.lab.test", "Exp"), ("fs11.lab.test", "Imp")):
        sims[fs] = SimulatedHost(fs.upper(), groups=default_groups([f"{DOM}-512", vmm]),
                                 shares=[SimShare(share, f"D:\\{share}", f"O:SYG:SYD:(A;;0x1200a9;;;{vmm})")],
                                 folders=[SimFolder(f"D:\\{share}", f"O:BAG:SYD:(A;OICI;FA;;;BA)(A;OICI;FA;;;{vmm})"
                                                    f"(A;OICI;0x1301bf;;;S-1-5-11)")])
    site = Site.model_validate({
        "directory": directory.config().model_dump(exclude_none=True),
        "winrm": {"transport": "basic", "scheme": "http", "user": "lab\\preflight", "timeout_seconds": 60},
        "accounts": {"vmm_service": "LAB\\svc-vmm", "run_as": ["LAB\\svc-runas"]},
        "source": {"hosts": names[:half], "export_path": r"\\fs01.lab.test\Exp"},
        "target": {"hosts": names[half:] or names[:1], "import_path": r"\\fs11.lab.test\Imp"},
        "policy": {"authentication": "certificate"},
    })
    return directory, sims, site


def loop(site: Site, directory: LabDirectory, endpoint: WinRMEndpoint, fail_on: str,
         collectors: pipeline.Collectors | None = None) -> dict[str, Any]:
    """`collectors`: the demo's own (its VMM and cluster discovery included); else LDAP and WinRM."""
    checks = discover(include_entry_points=False).checks
    collectors = collectors or pipeline.Collectors(
        directory=functools.partial(collect_directory, connect=directory.connect),
        hosts=functools.partial(collect_hosts, session_factory=endpoint.protocol_factory(60)))
    connections = runner.Connections(
        directory_connect=directory.connect,
        host_factory=lambda config, password: endpoint.protocol_factory(60, password=password, username=config.user),
        collectors=collectors)

    def password(env: str, purpose: str) -> str:
        return os.environ.get(env) or (directory.password if "LDAP" in purpose else PASSWORD)  # the demo sets its own

    started = time.monotonic()
    facts = pipeline.collect(site, needs_of(checks), collectors, password)
    results = pipeline.build_results(site, checks, facts, pipeline.RunOptions(fail_on=fail_on))
    plan = make_plan(results, pipeline.directory_server(site), checks=[c.id for c in checks], fail_on=fail_on)
    planned = time.monotonic() - started
    with TemporaryDirectory() as folder:
        before = sum(endpoint.commands.values())
        started = time.monotonic()
        record = runner.apply_plan(plan, site, connections=connections, password_for=password,
                                   record_path=Path(folder) / "record.json", checks=checks)
        applied = time.monotonic() - started
        commands = sum(endpoint.commands.values()) - before
        started = time.monotonic()
        runner.verify(plan, record, site, checks, connections, password, Path(folder) / "record.json")
        verified = time.monotonic() - started
        started = time.monotonic()
        back = runner.revert_record(record, site, connections=connections, password_for=password,
                                    record_path=Path(folder) / "revert.json")
        reverted = time.monotonic() - started
    return {"machines": len(facts.hosts or {}), "steps": len(plan.steps), "findings": len(plan.findings),
            "steps_by_kind": dict(Counter(s.action.kind for s in plan.steps)),
            "outcomes": dict(Counter(s.outcome.value for s in record.steps)),
            "exit_code": runner.apply_exit_code(plan, record), "revert_exit_code": runner.revert_exit_code(back),
            "plan_seconds": round(planned, 3), "apply_seconds": round(applied, 3),
            "recheck_seconds": round(verified, 3), "revert_seconds": round(reverted, 3),
            "apply_powershell_commands": commands}


def run_demo() -> dict[str, Any]:
    from offlineprep.demo import start_demo

    demo = start_demo()
    try:
        assert demo.directory is not None
        result = loop(demo.site, demo.directory, demo.endpoint, "fail", demo.collectors)
    finally:
        demo.stop()
    return {"scenario": "demo", **result}


def run_hosts(n: int, latency: float, concurrency: int) -> dict[str, Any]:
    directory, sims, site = lab(n)
    assert site.winrm is not None
    site = site.model_copy(update={"winrm": site.winrm.model_copy(update={"concurrency": concurrency})})
    with WinRMEndpoint(sims, username="lab\\preflight", password=PASSWORD, latency=latency) as endpoint:
        result = loop(site, directory, endpoint, "warn")  # the firewall rule answers a warning
    return {"scenario": "hosts", "machines": len(sims), "latency": latency, "concurrency": concurrency, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="the demo lab's loop")
    parser.add_argument("--hosts", type=int, nargs="*", default=[])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16])
    args = parser.parse_args()
    if args.demo:
        print(json.dumps(run_demo()), flush=True)
    for n in args.hosts:
        for c in args.concurrency:
            print(json.dumps(run_hosts(n, args.latency, c)), flush=True)


if __name__ == "__main__":
    main()
