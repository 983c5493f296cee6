"""Our MS-DTYP access check agrees with Samba's on thousands of random DACLs, and our descriptor
codec reads what Samba packs and writes what Samba reads (its NDR is an independent implementation
of MS-DTYP 2.4.6).

Samba's `access_check` is an independent implementation of the same algorithm. Two known
differences are kept out of the comparison and tested against Windows values elsewhere: Samba
4.17 maps the `FA` alias to 0x1FF (Windows: 0x1F01FF) and answers MAXIMUM_ALLOWED on a null DACL
with 0. So masks are written in hex here, and every DACL is present.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from offlineprep.acl import effective_access
from offlineprep.security_descriptor import decode_descriptor, encode_descriptor, parse_sddl

SYSTEM_PYTHON = "/usr/bin/python3"
ORACLE = Path(__file__).with_name("samba_oracle.py")
DOMAIN = "S-1-5-21-1000-2000-3000"
SIDS = [
    "S-1-1-0", "S-1-5-11", "S-1-5-2", "S-1-5-18", "S-1-5-32-544", "S-1-5-32-545", "S-1-5-32-547",
    f"{DOMAIN}-1101", f"{DOMAIN}-1102", f"{DOMAIN}-1103", f"{DOMAIN}-512", f"{DOMAIN}-513", "S-1-3-4",
]
# Specific file rights only: generic bits are mapped by the file system before the check, which
# Samba's bare access_check does not do; they are tested against Windows values separately.
BITS = [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000]
FLAGS = ["", "", "", "OI", "CI", "OICI", "IO", "OICIIO", "ID", "OICIID", "CIIO"]


def _samba_available() -> bool:
    if not shutil.which(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import samba.security"], capture_output=True)
    return probe.returncode == 0


def random_case(rng: random.Random) -> dict[str, object]:
    aces = []
    for _ in range(rng.randint(0, 8)):
        mask = 0
        for bit in rng.sample(BITS, rng.randint(1, 6)):
            mask |= bit
        if rng.random() < 0.15:
            mask = 0x1F01FF
        aces.append(f"({rng.choice('AAD')};{rng.choice(FLAGS)};0x{mask:x};;;{rng.choice(SIDS)})")
    owner = rng.choice(SIDS[:-1])
    sddl = f"O:{owner}G:SYD:{'P' if rng.random() < 0.3 else ''}{''.join(aces)}"
    token = rng.sample(SIDS[:-1], rng.randint(1, 6))
    return {"sddl": sddl, "sids": token}


def samba_answers(cases: list[dict[str, object]]) -> list[int]:
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(ORACLE)], input=json.dumps(cases), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return list(json.loads(proc.stdout))


@pytest.mark.parametrize("seed", [20261124, int.from_bytes(os.urandom(4), "big")])
def test_effective_access_agrees_with_samba(seed: int) -> None:
    if not _samba_available():
        if os.environ.get("CI"):
            pytest.fail("python3-samba is required in CI (scripts/setup.sh installs it)")
        pytest.skip("python3-samba is not installed for /usr/bin/python3")
    rng = random.Random(seed)
    cases = [random_case(rng) for _ in range(3000)]
    expected = samba_answers(cases)
    mismatches = []
    for case, theirs in zip(cases, expected, strict=True):
        ours = effective_access(str(case["sddl"]), list(case["sids"]))  # type: ignore[arg-type]
        if ours != theirs:
            mismatches.append((case, hex(ours), hex(theirs)))
    assert not mismatches, f"seed {seed}: {len(mismatches)} of {len(cases)} differ, first: {mismatches[:3]}"


def test_the_oracle_runs_under_the_system_python() -> None:
    if not _samba_available():
        pytest.skip("python3-samba is not installed for /usr/bin/python3")
    assert samba_answers([{"sddl": "O:BAG:SYD:(A;;0x1f01ff;;;WD)", "sids": ["S-1-1-0"]}]) == [0x1F01FF]


GUIDS = ["00299570-246d-11d0-a768-00aa006e0529", "bf967aba-0de6-11d0-a285-00aa003049e2"]


def random_descriptor(rng: random.Random) -> str:
    """SDDL with what a directory descriptor holds: object ACEs with one or two GUIDs, every
    inheritance flag, the DACL flags, no owner or group at times."""
    aces = []
    for _ in range(rng.randint(0, 6)):
        kind = rng.choice(["A", "D", "OA", "OD"])
        mask = rng.choice([0x100, 0xF01FF, 0x1F01FF, 0x20094, rng.randint(1, 0xFFFFFFFF)])
        objects = ";;" if kind in {"A", "D"} else rng.choice([";;", f"{GUIDS[0]};;", f";{GUIDS[1]};", ";".join(GUIDS) + ";"])
        aces.append(f"({kind};{rng.choice(FLAGS)};0x{mask:x};{objects}{rng.choice(SIDS)})")
    owner = f"O:{rng.choice(SIDS)}" if rng.random() < 0.8 else ""
    group = f"G:{rng.choice(SIDS)}" if rng.random() < 0.5 else ""
    return f"{owner}{group}D:{rng.choice(['', 'P', 'AI', 'PAI'])}{''.join(aces)}"


def _run(script: str, payload: object) -> object:
    proc = subprocess.run([SYSTEM_PYTHON, str(Path(__file__).with_name(script))], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("seed", [20261206, int.from_bytes(os.urandom(4), "big")])
def test_the_codec_and_samba_read_and_write_the_same_descriptors(seed: int) -> None:
    if not _samba_available():
        pytest.skip("python3-samba is not installed for /usr/bin/python3")
    rng = random.Random(seed)
    sddls = [random_descriptor(rng) for _ in range(400)]
    packed = _run("sd_pack.py", [{"sddl": s, "domain": DOMAIN} for s in sddls])
    assert isinstance(packed, list)
    ours = [encode_descriptor(parse_sddl(s, DOMAIN)) for s in sddls]
    read_back = _run("sd_unpack.py", {"domain": DOMAIN, "blobs": [base64.b64encode(b).decode() for b in ours]})
    assert isinstance(read_back, list)
    for sddl, theirs, samba_reading in zip(sddls, packed, read_back, strict=True):
        model = parse_sddl(sddl, DOMAIN)
        # Samba writes every ACL as revision 4 (ACL_REVISION_DS); the model of SDDL text says 2
        assert replace(decode_descriptor(base64.b64decode(theirs)), dacl_revision=2) == \
            replace(model, dacl_revision=2), f"seed {seed}: Samba's packing of {sddl} reads otherwise"
        assert samba_reading is not None, f"seed {seed}: Samba refuses our encoding of {sddl}"
        assert parse_sddl(samba_reading, DOMAIN) == model, f"seed {seed}: Samba reads our {sddl} as {samba_reading}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
