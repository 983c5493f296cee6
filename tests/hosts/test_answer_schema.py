"""The host answer schema, offlineprep/host/v1: the file in docs/ is generated from the models, every
answer the simulator gives fits it exactly, and a part of the wrong shape costs only that part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offlineprep.collect.answer import json_schema, read_answer, validate_strictly
from offlineprep.collect.hosts import parse_output
from offlineprep.facts import ErrorKind
from offlineprep.lab import collect_twin
from offlineprep.lab.windows import (
    SimDfsNode,
    SimFolder,
    SimGroup,
    SimNetwork,
    SimProfile,
    SimRule,
    SimShare,
    SimulatedHost,
    SimVM,
    SimVolume,
    default_groups,
)

DOCS = Path(__file__).parents[2] / "docs" / "host.schema.json"
SDDL = "O:BAG:SYD:(A;OICI;FA;;;BA)"


def test_the_schema_in_docs_is_current() -> None:
    assert json.loads(DOCS.read_text()) == json_schema()


def _unc(raw: str) -> dict[str, Any]:
    server, share, *rest = raw.lstrip("\\").split("\\")
    return {"raw": raw, "kind": "unc", "server": server, "share": share, "subpath": "\\".join(rest),
            "local_path": None}


HOSTS = {
    "file server": (SimulatedHost("FS01.lab.test", shares=[SimShare("Exp", "D:\\Exp")],
                                  folders=[SimFolder("D:\\Exp", SDDL)]), [_unc(r"\\fs01\Exp"), _unc(r"\\fs01\Nope")]),
    "cluster": (SimulatedHost("NODE1.lab.test", shares=[SimShare("Data", "J:\\Data", scope="FS-CAP1"),
                                                         SimShare("Data", "K:\\Data", scope="FS-CAP2")],
                              folders=[SimFolder("J:\\Data", SDDL)]), [_unc(r"\\fs-cap1\Data"), _unc(r"\\fs-cap2\Data")]),
    "offline volume": (SimulatedHost("FS02.lab.test", shares=[SimShare("Exp", "E:\\Exp")],
                                     volumes=[SimVolume("E:\\", file_system=None, capacity=None, free_space=None)]),
                       [_unc(r"\\fs02\Exp")]),
    "dfs": (SimulatedHost("DC1.lab.test", shares=[SimShare("ns", "C:\\DFSRoots\\ns")],
                          dfs_nodes=[SimDfsNode("\\\\lab.test\\ns", root=True),
                                     SimDfsNode("\\\\lab.test\\ns\\exp", targets=["\\\\fs01\\Exp"])]),
            [_unc(r"\\lab.test\ns\exp"), _unc(r"\\dc1\ns\exp\sub")]),
    "orphans": (SimulatedHost("FS03.lab.test", groups=[SimGroup("S-1-5-32-544", "Administrators", ["S-1-5-21-1-2-3-512"],
                                                                orphaned=["S-1-5-21-7-8-9-1105"],
                                                                broken=[("WinNT://FABRIKAM/x", "trust failed")]),
                                                       SimGroup("S-1-5-32-547", "Power Users", error="Access is denied.")],
                                shares=[SimShare("Exp", "D:\\Exp")], folders=[SimFolder("D:\\Exp", SDDL)]),
                [_unc(r"\\fs03\Exp")]),
    "hyper-v host": (SimulatedHost("HV01.lab.test", hyperv_installed=True, ip_addresses=["10.0.0.11"],
                                   groups=default_groups(["S-1-5-21-1111-2222-3333-1200"]),
                                   vms=[SimVM("a", 7), SimVM("b", None), SimVM("c", None, pass_through=True)],
                                   replication={"enabled": True, "kerberos_port": 8083, "certificate_port": 8084},
                                   firewall=[SimRule("r1", ["8084"]), SimRule("r2", ["Any"], action="NotConfigured"),
                                             SimRule("r3", ["RPC"], profile="Domain, Private"),
                                             SimRule("r4", ["8000-9000"], action="Block", remote_addresses=["10.0.0.0/8"]),
                                             SimRule("off", ["8084"], enabled=False)],
                                   firewall_profiles=[SimProfile("Domain", enabled="False"), SimProfile("Public")],
                                   networks=[SimNetwork("Ethernet", "DomainAuthenticated"), SimNetwork("Wi-Fi", "Public")]),
                     []),
}


@pytest.mark.parametrize("name", list(HOSTS))
def test_every_simulated_answer_fits_the_schema_exactly(name: str) -> None:
    host, paths = HOSTS[name]
    answer = collect_twin.answer(host, {"hyperv": host.hyperv_installed, "paths": paths})
    validate_strictly(json.loads(json.dumps(answer)))  # what crosses the wire, no tolerance, no coercion
    _parsed, problems, rejected = read_answer(answer)
    assert problems == {} and rejected == {}


def _doc(**parts: Any) -> bytes:
    return json.dumps({"schema": "offlineprep/host/v1", "errors": {}, "computer_name": "HV11.lab.test", **parts}).encode()


RULE = {"name": "ok", "display_name": "ok", "enabled": "True", "direction": "Inbound", "action": "Allow", "profile": "Any",
        "protocol": "TCP", "local_ports": ["8084"], "remote_addresses": ["Any"]}


def test_one_rule_of_the_wrong_shape_costs_only_that_rule() -> None:
    # before: any wrong shape anywhere made the whole host "an answer of the wrong shape"
    bad = {**RULE, "name": "numeric", "action": 2}  # an enum as ConvertTo-Json of PowerShell 5.1 writes it
    facts = parse_output("hv11", _doc(firewall_rules=[RULE, bad], os={"caption": "W", "version": "6.3", "build": "9600"}),
                         b"", 0)
    assert facts.error is None and facts.os_caption == "W"
    assert facts.firewall_rules is not None and [r.name for r in facts.firewall_rules] == ["ok"]
    assert "firewall_rules[1].action" in facts.section_errors["firewall_rules"]


def test_a_path_or_vm_of_the_wrong_shape_keeps_its_name_and_the_others() -> None:
    paths = [{"path": r"\\fs\a", "exists": True, "is_directory": True, "ntfs_sddl": SDDL},
             {"path": r"\\fs\b", "exists": "maybe?", "volume": 3}]
    vms = [{"name": "good", "disk_bytes": 5}, {"name": "bad", "disk_bytes": {"x": 1}}]
    facts = parse_output("fs", _doc(paths=paths, vms=vms), b"", 0)
    assert facts.error is None
    good, bad = facts.find_path(r"\\fs\a"), facts.find_path(r"\\fs\b")
    assert good is not None and good.error is None and good.exists
    assert bad is not None and bad.error is not None and bad.error.kind is ErrorKind.GARBAGE
    assert facts.vms is not None and [(v.name, v.disk_bytes) for v in facts.vms] == [("good", 5), ("bad", None)]


def test_a_whole_part_of_the_wrong_shape_is_named_and_left_out() -> None:
    facts = parse_output("hv", _doc(replication_server={"enabled": True, "kerberos_port": "eighty"},
                                    hyperv={"installed": True, "vmms": "Running"}), b"", 0)
    assert facts.replication_server is None and facts.hyperv_installed is True
    assert "replication_server.kerberos_port" in facts.section_errors["replication_server"]


def test_an_unknown_key_is_a_shape_the_script_does_not_print() -> None:
    facts = parse_output("hv", _doc(replication_server={"enabled": True, "KerbAuthPort": 8083}), b"", 0)
    assert facts.replication_server is None and "KerbAuthPort" in facts.section_errors["replication_server"]


def test_the_new_parts_fit_the_schema_exactly_failing_shapes_included() -> None:
    """Clock, domain role, probes (no answer, no such name, filtered, refused, open), certificates
    (untrusted, expired, no EKU), authorization entries, the SMB server's names."""
    from datetime import UTC, datetime, timedelta

    from offlineprep.lab.windows import CLIENT_AUTH, LabNetwork, SimAuthorization, SimCertificate, SimLookup

    now = datetime.now(UTC)
    host = SimulatedHost("HV01.lab.test", hyperv_installed=True, vmms_status="Stopped", clock_offset_seconds=-301,
                         replication={"enabled": False, "allowed_from_any_server": False},
                         replica_authorizations=[SimAuthorization("hv99.fabrikam.com", "E:\\Replicas", "OTHER")],
                         certificates=[SimCertificate("CN=HV01.lab.test", chain_status=["UntrustedRoot", "PartialChain"]),
                                       SimCertificate("CN=old", not_after=now - timedelta(days=1)),
                                       SimCertificate("CN=client", ekus=[CLIENT_AUTH], has_private_key=False)],
                         dns={"silent.lab.test": SimLookup(no_answer=True), "nx.lab.test": SimLookup(None)})
    fs = SimulatedHost("FS01.lab.test", smb_port="refused", optional_names=["FILES"], alternate_names=["f.lab.test"],
                       strict_name_checking_disabled=0, shares=[SimShare("Exp", "D:\\Exp")],
                       folders=[SimFolder("D:\\Exp", SDDL)])
    gone = SimulatedHost("GONE.lab.test", smb_port="filtered")
    network = LabNetwork({"hv01.lab.test": host, "fs01.lab.test": fs, "gone.lab.test": gone})
    for sim, request in ((host, {"hyperv": True, "paths": [], "probes": ["silent.lab.test", "nx.lab.test",
                                                                       "fs01.lab.test", "gone.lab.test"]}),
                         (fs, {"hyperv": False, "paths": [_unc(r"\\fs01\Exp")], "probes": []})):
        answer = json.loads(json.dumps(collect_twin.answer(sim, request, network)))
        validate_strictly(answer)
        _parsed, problems, rejected = read_answer(answer)
        assert problems == {} and rejected == {}
    probes = {p["name"]: p for p in collect_twin.answer(host, {"hyperv": False, "paths": [], "probes": [
        "silent.lab.test", "nx.lab.test", "fs01.lab.test", "gone.lab.test"]}, network)["probes"]["names"]}
    assert probes["silent.lab.test"]["timed_out"] and probes["nx.lab.test"]["error"] == "No such host is known"
    assert [c["state"] for c in probes["fs01.lab.test"]["connections"]] == ["refused"]
    assert [c["state"] for c in probes["gone.lab.test"]["connections"]] == ["timeout"]
