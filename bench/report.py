"""Benchmark: render the HTML (and the other outputs) for N hosts; time, size, peak memory, and the
time headless Chromium takes to load the HTML.

    python bench/report.py --hosts 2000                      # every check failing on every host
    python bench/report.py --hosts 2000 --scenario mixed     # one host in 50 failing delegation
    python bench/report.py --hosts 2000 --no-browser         # without Chromium

Prints one JSON line per run. "Load" is the wall time from Page.navigate to the first animation
frame after the load event, in a fresh headless Chromium driven over the DevTools protocol (the
same driver as the browser tests, tests/report/browser.py); each load is repeated `--loads` times.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from offlineprep.model import Finding, Phase, Remediation, Results, Status, ToolInfo, Topology
from offlineprep.pipeline import summarise, verdict_of
from offlineprep.remediation import add_delegation
from offlineprep.render import fixscript, html, json_out, junit, markdown

CHECKS = ["ad.host-account", "ad.delegation", "host.reachable", "policy.replication-port", "policy.same-host-os"]
PATH_COMPUTERS = ("fs01.contoso.com", "fs11.contoso.com")


def _failing(check: str, host: str, target: str | None) -> Finding:
    """A failing finding as the real checks write it: message, evidence and a fix with its revert."""
    short = host.split(".")[0].upper()
    if check == "ad.delegation":
        assert target is not None
        return Finding(check=check, status=Status.FAIL, severity="critical", subject=host, target=target,
                       message=f"{short} may not delegate to cifs/{target}: msDS-AllowedToDelegateTo lacks it",
                       evidence={"msDS-AllowedToDelegateTo": [], "userAccountControl": 4096,
                                 "userAccountControl_flags": ["WORKSTATION_TRUST_ACCOUNT"]},
                       remediation=add_delegation(short, [f"cifs/{target}"], True, host))
    fixes = {
        "ad.host-account": Remediation(summary=f"Enable the computer account of {short}",
                                       powershell=f"Enable-ADAccount -Identity '{short}$'",
                                       revert=f"Disable-ADAccount -Identity '{short}$'", phase=Phase.DIRECTORY),
        "policy.replication-port": Remediation(
            summary=f"Allow TCP 8084 inbound on {host}",
            powershell=(f"Invoke-Command -ComputerName '{host}' -ScriptBlock {{\n    New-NetFirewallRule -Name "
                        "'offlineprep-replica-8084' -DisplayName 'Hyper-V Replica 8084' -Direction Inbound "
                        "-Protocol TCP -LocalPort 8084 -Action Allow\n}"),
            revert=f"Invoke-Command -ComputerName '{host}' -ScriptBlock {{ Remove-NetFirewallRule -Name "
                   "'offlineprep-replica-8084' }", phase=Phase.HOST),
    }
    messages = {
        "ad.host-account": f"the computer account of {short} is disabled (ACCOUNTDISABLE)",
        "host.reachable": f"cannot reach {host}: connection refused (TCP 5986)",
        "policy.replication-port": f"no enabled inbound allow rule on {host} covers TCP 8084",
        "policy.same-host-os": f"{host} runs Windows Server 2016, the policy's hosts run Windows Server 2012 R2",
    }
    return Finding(check=check, status=Status.FAIL, severity="high", subject=host, message=messages[check],
                   evidence={"userAccountControl": 4098, "os_caption": "Microsoft Windows Server 2016 Datacenter"},
                   remediation=fixes.get(check))


def _mixed(check: str, host: str, target: str | None, i: int) -> Finding:
    status = Status.FAIL if (check == "ad.delegation" and i % 50 == 0) else Status.PASS
    if check == "ad.delegation":
        return Finding(check=check, status=status, severity="critical", subject=host, target=target,
                       message=f"{host} may delegate to cifs/{target}",
                       evidence={"msDS-AllowedToDelegateTo": [f"cifs/{target}"]})
    return Finding(check=check, status=status, severity="high", subject=host, message="ok",
                   evidence={"userAccountControl": 16781312})


def results_for(n: int, scenario: str = "failing") -> Results:
    findings = []
    for i in range(n):
        host = f"hv{i:04}.contoso.com"
        for check in CHECKS:
            for target in (PATH_COMPUTERS if check == "ad.delegation" else (None,)):
                findings.append(_failing(check, host, target) if scenario == "failing"
                                else _mixed(check, host, target, i))
    half = n // 2
    return Results(tool=ToolInfo(version="bench"), generated_at=datetime.now(UTC),
                   verdict=verdict_of(findings), summary=summarise(findings), findings=findings,
                   topology=Topology(source_hosts=[f"hv{i:04}.contoso.com" for i in range(half)],
                                     export_path=r"\\fs01.contoso.com\ASRExport",
                                     import_path=r"\\fs11.contoso.com\ASRImport",
                                     target_hosts=[f"hv{i:04}.contoso.com" for i in range(half, n)]))


def browser_load_seconds(page: Path, loads: int) -> list[float]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "report"))
    from browser import DevTools  # the browser tests' DevTools driver

    times = []
    for _ in range(loads):
        with DevTools() as devtools:  # a fresh browser each time: no cache
            times.append(round(devtools.open(page), 3))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[2000])
    parser.add_argument("--scenario", choices=["failing", "mixed"], default="failing")
    parser.add_argument("--loads", type=int, default=3, help="Chromium loads per size")
    parser.add_argument("--no-browser", action="store_true", help="do not measure the load in Chromium")
    args = parser.parse_args()
    for n in args.hosts:
        results = results_for(n, args.scenario)
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder)
            started = time.monotonic()
            html.write(results, out / "r.html")
            html_seconds = time.monotonic() - started
            started = time.monotonic()
            json_out.write(results, out / "r.json")
            junit.write(results, out / "r.xml")
            markdown.write(results, out / "r.md")
            fixscript.write(results, out / "r.ps1")
            other_seconds = time.monotonic() - started
            sizes = {p.suffix[1:]: p.stat().st_size for p in out.iterdir()}
            loads = [] if args.no_browser else browser_load_seconds(out / "r.html", args.loads)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"hosts": n, "scenario": args.scenario, "findings": len(results.findings),
                          "html_seconds": round(html_seconds, 3), "html_bytes": sizes["html"],
                          "chromium_load_seconds": loads, "other_outputs_seconds": round(other_seconds, 3),
                          "json_bytes": sizes["json"], "peak_rss_mb": round(peak_mb, 1)}), flush=True)


if __name__ == "__main__":
    main()
