"""Benchmark: render the HTML (and the other outputs) for N hosts; time, size, peak memory.

    python bench/report.py --hosts 2000
Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from offlineprep.model import Finding, Results, Status, ToolInfo, Topology
from offlineprep.pipeline import summarise, verdict_of
from offlineprep.render import fixscript, html, json_out, junit, markdown

CHECKS = ["ad.host-account", "ad.delegation", "host.reachable", "policy.replication-port", "policy.same-host-os"]


def results_for(n: int) -> Results:
    findings = []
    for i in range(n):
        host = f"hv{i:04}.contoso.com"
        for check in CHECKS:
            status = Status.FAIL if (check == "ad.delegation" and i % 50 == 0) else Status.PASS
            if check == "ad.delegation":
                for target in ("fs01.contoso.com", "fs11.contoso.com"):
                    findings.append(Finding(check=check, status=status, severity="critical", subject=host,
                                            target=target, message=f"{host} may delegate to cifs/{target}",
                                            evidence={"msDS-AllowedToDelegateTo": [f"cifs/{target}"]}))
            else:
                findings.append(Finding(check=check, status=status, severity="high", subject=host, message="ok",
                                        evidence={"userAccountControl": 16781312}))
    half = n // 2
    return Results(tool=ToolInfo(version="bench"), generated_at=datetime.now(UTC),
                   verdict=verdict_of(findings), summary=summarise(findings), findings=findings,
                   topology=Topology(source_hosts=[f"hv{i:04}.contoso.com" for i in range(half)],
                                     export_path=r"\\fs01.contoso.com\ASRExport",
                                     import_path=r"\\fs11.contoso.com\ASRImport",
                                     target_hosts=[f"hv{i:04}.contoso.com" for i in range(half, n)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[2000])
    args = parser.parse_args()
    for n in args.hosts:
        results = results_for(n)
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
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"hosts": n, "findings": len(results.findings), "html_seconds": round(html_seconds, 3),
                          "html_bytes": sizes["html"], "other_outputs_seconds": round(other_seconds, 3),
                          "json_bytes": sizes["json"], "peak_rss_mb": round(peak_mb, 1)}), flush=True)


if __name__ == "__main__":
    main()
