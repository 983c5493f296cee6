"""Benchmark: `offlineprep preflight --only 'ad.*'` against a Samba AD DC holding N hosts, side by
side with impacket's findDelegation.py on the same domain in the same run (benchmark-only
dependency: `pip install impacket`). Needs root (a loopback address, /etc/hosts) and Samba.

    python bench/directory.py --hosts 50 250 2000
Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration"))
from samba import ADMIN_PASSWORD, SambaDC

FIND_DELEGATION_TIMEOUT = 120
CLASSIFIED: dict[str, str] = {}  # account -> delegation type as offlineprep's evidence shows it


def populate(dc: SambaDC, n: int, start: int) -> list[str]:
    """N computer accounts in a mix: constrained with protocol transition, constrained Kerberos-only,
    unconstrained, and none."""
    entries, names = [], []
    for i in range(start, start + n):
        name = f"BH{i:05}"
        names.append(f"{name.lower()}.lab.test")
        kind = i % 4
        uac = 4096 | {0: 0x1000000, 1: 0, 2: 0x80000, 3: 0}[kind]
        entry = (f"dn: CN={name},CN=Computers,{dc.base_dn}\nobjectClass: computer\nsAMAccountName: {name}$\n"
                 f"dNSHostName: {name.lower()}.lab.test\nuserAccountControl: {uac}\n")
        if kind in (0, 1):
            entry += "msDS-AllowedToDelegateTo: cifs/fs01.lab.test\nmsDS-AllowedToDelegateTo: cifs/FS01\n"
        entries.append(entry)
    dc.add("\n".join(entries))
    return names


def offlineprep_run(dc: SambaDC, hosts: list[str], folder: Path) -> dict[str, object]:
    site = folder / "site.toml"
    half = max(1, len(hosts) // 2)
    site.write_text(
        f'[directory]\nserver = "{dc.url}"\nuser = "Administrator@lab.test"\nca_file = \'{dc.ca_file}\'\n'
        '[accounts]\nvmm_service = "LAB\\\\Administrator"\n'
        f"[source]\nhosts = {json.dumps(hosts[:half])}\nexport_path = '\\\\fs01.lab.test\\Exp'\n"
        f"[target]\nhosts = {json.dumps(hosts[half:] or hosts[:1])}\nimport_path = '\\\\fs01.lab.test\\Imp'\n")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site), "--only", "ad.*",
                           "--json", str(folder / "r.json"), "--exit-zero"], capture_output=True, text=True,
                          env={**os.environ, "OFFLINEPREP_LDAP_PASSWORD": ADMIN_PASSWORD}, timeout=600)
    wall = time.monotonic() - started
    results = json.loads((folder / "r.json").read_text())
    CLASSIFIED.clear()
    for f in results["findings"]:
        if f["check"] == "ad.delegation" and f["evidence"].get("host_account"):
            ev = f["evidence"]
            account = ev["host_account"].split(",")[0][3:] + "$"
            if ev["unconstrained"]:
                CLASSIFIED[account] = "Unconstrained"
            elif ev["msDS-AllowedToDelegateTo"]:
                CLASSIFIED[account] = "Constrained w/ Protocol Transition" if ev["protocol_transition"] \
                    else "Constrained w/o Protocol Transition"
    return {"tool": "offlineprep", "wall_seconds": round(wall, 2), "exit": proc.returncode,
            "ldap_searches": results["statistics"].get("ldap_searches"),
            "ldap_seconds": results["statistics"].get("ldap_seconds"), "findings": len(results["findings"])}


def find_delegation_run(dc: SambaDC) -> dict[str, object]:
    script = shutil.which("findDelegation.py")
    if not script:
        return {"tool": "findDelegation.py", "skipped": "impacket is not installed"}
    started = time.monotonic()
    try:
        proc = subprocess.run([script, "-dc-ip", dc.ip, "-dc-host", "dc1.lab.test", f"lab.test/Administrator:{ADMIN_PASSWORD}"],
                              capture_output=True, text=True, timeout=FIND_DELEGATION_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"tool": "findDelegation.py", "wall_seconds": None,
                "did_not_finish_within_seconds": FIND_DELEGATION_TIMEOUT}
    rows = [line for line in proc.stdout.splitlines() if "Constrained" in line or "Unconstrained" in line]
    theirs: dict[str, str] = {}
    for line in rows:
        account = line.split()[0]
        if account.startswith("BH"):
            label = next(x for x in ("Constrained w/ Protocol Transition", "Constrained w/o Protocol Transition",
                                     "Unconstrained", "Resource-Based Constrained") if x in line)
            theirs[account] = label
    agree = sum(1 for a, t in theirs.items() if CLASSIFIED.get(a) == t)
    return {"tool": "findDelegation.py", "wall_seconds": round(time.monotonic() - started, 2), "exit": proc.returncode,
            "rows": len(rows), "accounts_classified": len(theirs), "same_classification_as_offlineprep": agree,
            "error": proc.stderr.strip().splitlines()[-1][:200] if proc.returncode else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[50, 250, 2000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dc = SambaDC(Path(tmp) / "dc")
        dc.start()
        try:
            hosts: list[str] = []
            for n in sorted(args.hosts):
                started = time.monotonic()
                hosts += populate(dc, n - len(hosts), len(hosts))
                loaded = round(time.monotonic() - started, 1)
                for result in (offlineprep_run(dc, hosts, Path(tmp)), find_delegation_run(dc)):
                    print(json.dumps({"hosts": n, "ldif_load_seconds": loaded, **result}), flush=True)
        finally:
            dc.stop()


if __name__ == "__main__":
    main()
