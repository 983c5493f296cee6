"""Benchmark: the directory collector against two replicating Samba DCs of one domain (issue 22.6),
with every writable DC read (ad.replicated) and, in the same run, with only the named DC (what one
DC costs): searches and seconds per DC, and the cost of the second DC over one. Needs root and Samba
(tests/integration/dc_pair.py starts the pair).

    python bench/every_dc.py --hosts 250 2000
Prints one JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration"))
from dc_pair import DCPair

from offlineprep.collect import directory
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.site import DirectoryConfig


def populate(pair: DCPair, n: int, start: int) -> list[str]:
    """N computers written on dc1 in one LDAP ldbadd (a quarter each: constrained with protocol
    transition, constrained, unconstrained, none), then replicated to dc2."""
    entries, names = [], []
    for i in range(start, start + n):
        name = f"BH{i:05}"
        names.append(f"{name.lower()}.{pair.dns_domain}")
        kind = i % 4
        uac = 4096 | {0: 0x1000000, 1: 0, 2: 0x80000, 3: 0}[kind]
        delegate = (f"cifs/fs01.{pair.dns_domain}", "cifs/FS01") if kind in (0, 1) else ()
        entries.append(pair.dc1.computer_ldif(name, uac=uac, delegate_to=delegate))
    for chunk in range(0, len(entries), 500):
        pair.ldap_tool(pair.dc1, "ldbadd", "\n".join(entries[chunk:chunk + 500]))
    pair.converge()
    return names


def collect(pair: DCPair, hosts: list[str], every_dc: bool) -> dict[str, Any]:
    config = DirectoryConfig(server=pair.dc1.url, user=pair.admin_user, ca_file=str(pair.ca_bundle),
                             timeout_seconds=60)
    request = DirectoryRequest(computers=hosts, principals=[f"{pair.dc1.netbios}\\Administrator"],
                               spn_names=[f"fs01.{pair.dns_domain}"])
    original = directory.read_every_dc
    if not every_dc:
        directory.read_every_dc = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        started = time.monotonic()
        facts = directory.collect_directory(config, request, pair.admin_password)
        wall = time.monotonic() - started
    finally:
        directory.read_every_dc = original  # type: ignore[assignment]
    assert facts.error is None, facts.error
    dcs = facts.domain_controllers or []
    named = next((dc for dc in dcs if dc.named), None)
    return {"wall_seconds": round(wall, 2),
            "searches_total": facts.searches + sum(dc.searches for dc in dcs if not dc.named),
            "searches_named_dc_before_every_dc": facts.searches - (named.searches if named else 0),
            "per_dc": [{"dc": dc.host_name, "searches": dc.searches, "seconds": dc.seconds,
                        "objects": len(dc.objects), "error": dc.error.message if dc.error else None} for dc in dcs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[250, 2000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pair = DCPair(Path(tmp) / "pair")
        pair.start()
        try:
            hosts: list[str] = []
            for n in sorted(args.hosts):
                started = time.monotonic()
                hosts += populate(pair, n - len(hosts), len(hosts))
                loaded = round(time.monotonic() - started, 1)
                one = collect(pair, hosts, every_dc=False)
                every = collect(pair, hosts, every_dc=True)
                print(json.dumps({"hosts": n, "dcs": 2, "load_and_converge_seconds": loaded, "one_dc": one,
                                  "every_dc": every,
                                  "extra_seconds": round(every["wall_seconds"] - one["wall_seconds"], 2),
                                  "extra_searches": every["searches_total"] - one["searches_total"]}), flush=True)
        finally:
            pair.stop()


if __name__ == "__main__":
    main()
