"""Benchmark: N simulated hosts behind the loopback WS-Management endpoint, latency L, concurrency C.

The whole pipeline's collection runs (ldap3 against the in-process lab directory, pywinrm against
the endpoint). Prints one JSON line per run: hosts, latency, concurrency, wall seconds, PowerShell
commands sent, LDAP searches, and parallel efficiency = ceil(N/C) x one host's wall / wall.

    python bench/hosts.py --hosts 200 --latency 0.05 --concurrency 16 1
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import time

from offlineprep.collect.directory import collect_directory
from offlineprep.collect.hosts import collect_hosts
from offlineprep.engine import discover, needs_of
from offlineprep.lab.directory import LabDirectory
from offlineprep.lab.windows import SimFolder, SimShare, SimulatedHost, SimVM
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.pipeline import Collectors, collect
from offlineprep.site import Site


def lab(n: int) -> tuple[LabDirectory, dict[str, SimulatedHost], Site]:
    directory = LabDirectory()
    directory.user("svc-vmm")
    directory.user("svc-runas")
    directory.computer("FS01")
    directory.computer("FS11")
    names = [f"hv{i:04}.lab.test" for i in range(n)]
    for name in names:
        directory.computer(name.split(".")[0], uac=0x1000 | 0x1000000, delegate_to=["cifs/fs01.lab.test"])
    sims = {name: SimulatedHost(name.upper(), hyperv_installed=True, vms=[SimVM("vm", 2**30)]) for name in names}
    for fs, share in (("fs01.lab.test", "Exp"), ("fs11.lab.test", "Imp")):
        sims[fs] = SimulatedHost(fs.upper(), shares=[SimShare(share, f"D:\\{share}")],
                                 folders=[SimFolder(f"D:\\{share}", "O:BAG:SYD:(A;OICI;FA;;;BA)")])
    half = max(1, n // 2)
    site = Site.model_validate({
        "directory": directory.config().model_dump(exclude_none=True),
        "winrm": {"transport": "basic", "scheme": "http", "user": "lab\\preflight", "timeout_seconds": 60},
        "accounts": {"vmm_service": "LAB\\svc-vmm", "run_as": ["LAB\\svc-runas"]},
        "source": {"hosts": names[:half], "export_path": r"\\fs01.lab.test\Exp"},
        "target": {"hosts": names[half:] or names[:1], "import_path": r"\\fs11.lab.test\Imp"},
    })
    return directory, sims, site


def run(n: int, latency: float, concurrency: int) -> dict[str, object]:
    directory, sims, site = lab(n)
    assert site.winrm is not None
    site = site.model_copy(update={"winrm": site.winrm.model_copy(update={"concurrency": concurrency})})
    needs = needs_of(discover(include_entry_points=False).checks)
    with WinRMEndpoint(sims, username="lab\\preflight", password="pw", latency=latency) as endpoint:
        collectors = Collectors(
            directory=functools.partial(collect_directory, connect=directory.connect),
            hosts=functools.partial(collect_hosts, session_factory=endpoint.protocol_factory(60)),
        )
        started = time.monotonic()
        facts = collect(site, needs, collectors, lambda env, purpose: "pw" if purpose == "WinRM" else directory.password)
        wall = time.monotonic() - started
        commands = sum(endpoint.commands.values())
    errors = sum(1 for h in (facts.hosts or {}).values() if h.error is not None)
    return {"hosts": len(facts.hosts or {}), "latency": latency, "concurrency": concurrency,
            "wall_seconds": round(wall, 3), "winrm_seconds": facts.statistics.get("winrm_seconds"),
            "powershell_commands": commands, "ldap_searches": facts.statistics.get("ldap_searches"),
            "host_errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[200])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 1])
    args = parser.parse_args()
    for n in args.hosts:
        for c in args.concurrency:
            one = run(1, args.latency, 1)  # one host's round trip at this latency (3 machines, c=1)
            per_host = float(one["winrm_seconds"]) / 3  # type: ignore[arg-type]
            result = run(n, args.latency, c)
            machines = int(result["hosts"])  # type: ignore[call-overload]
            ideal = math.ceil(machines / c) * per_host
            result["one_host_seconds"] = round(per_host, 3)
            result["parallel_efficiency"] = round(ideal / float(result["winrm_seconds"]), 3)  # type: ignore[arg-type]
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
