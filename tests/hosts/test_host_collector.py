"""The host collector with pywinrm, unchanged, against the WS-Management endpoint on loopback."""

from __future__ import annotations

import base64
import json
import time

import pytest

from offlineprep.collect.hosts import collect_hosts, collection_script, parse_output
from offlineprep.collect.requests import HostRequest
from offlineprep.facts import ErrorKind
from offlineprep.lab.windows import Fault, SimFolder, SimShare, SimulatedHost, SimVM
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.names import parse_path
from offlineprep.site import WinRMConfig
from offlineprep.winrm.delivery import COMMAND_LINE_LIMIT, command_line_length, decode_clixml

PASSWORD = "Lab-Winrm-S3cret-41d7"
SDDL = "O:BAG:SYD:(A;OICI;FA;;;BA)"


def config(timeout: float = 3, concurrency: int = 8) -> WinRMConfig:
    return WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=timeout,
                       concurrency=concurrency)


def file_server(name: str = "FS01.lab.test") -> SimulatedHost:
    return SimulatedHost(name, ip_addresses=["10.0.0.5"], shares=[SimShare("Exp", "D:\\Exp")],
                         folders=[SimFolder("D:\\Exp", SDDL), SimFolder("D:\\Exp\\sub", SDDL)])


def collect(endpoint: WinRMEndpoint, requests: list[HostRequest], timeout: float = 3, concurrency: int = 8):  # type: ignore[no-untyped-def]
    return collect_hosts(config(timeout, concurrency), requests, PASSWORD,
                         session_factory=endpoint.protocol_factory(timeout))


def test_file_server_and_hyperv_host_facts_arrive_whole() -> None:
    hosts = {"fs01": file_server(),
             "hv01": SimulatedHost("HV01.lab.test", hyperv_installed=True, vms=[SimVM("a", 7), SimVM("b", 5)],
                                   replication={"enabled": True, "kerberos_port": 80, "certificate_port": 8084})}
    with WinRMEndpoint(hosts, password=PASSWORD) as ep:
        found = collect(ep, [HostRequest("fs01", paths=[parse_path(r"\\fs01\Exp\sub"), parse_path(r"\\fs01\Nope")]),
                             HostRequest("hv01", hyperv=True)])
    fs = found["fs01"]
    assert fs.reachable and fs.error is None and fs.computer_name == "FS01.lab.test"
    sub = fs.find_path(r"\\fs01\Exp\sub")
    assert sub is not None and sub.local_path == "D:\\Exp\\sub" and sub.exists and sub.ntfs_sddl == SDDL
    assert sub.share is not None and sub.share.name == "Exp"
    nope = fs.find_path(r"\\fs01\Nope")
    assert nope is not None and nope.share_found is False
    assert {g.sid for g in fs.local_groups} >= {"S-1-5-32-544", "S-1-5-32-547"}
    hv = found["hv01"]
    assert hv.hyperv_installed and [v.disk_bytes for v in hv.vms or []] == [7, 5]
    assert hv.replication_server is not None and hv.replication_server.certificate_port == 8084
    assert ep.commands == {"fs01": 1, "hv01": 1}
    assert ep.unknown_scripts == 0


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        (Fault.REFUSE, ErrorKind.UNREACHABLE, "connection refused"),
        (Fault.HTTP_401, ErrorKind.AUTH, "401"),
        (Fault.HTTP_500, ErrorKind.PROTOCOL, "HTTP 500"),
        (Fault.SOAP_FAULT, ErrorKind.PROTOCOL, "WS-Management fault"),
        (Fault.SLOW, ErrorKind.TIMEOUT, "within"),
        (Fault.TRUNCATED, ErrorKind.GARBAGE, "truncated"),
        (Fault.NON_UTF8, ErrorKind.GARBAGE, "not UTF-8"),
        (Fault.HUGE, ErrorKind.GARBAGE, "MB of output"),
        (Fault.CLIXML_ERROR, ErrorKind.REMOTE, "Access is denied"),
        (Fault.GARBAGE, ErrorKind.GARBAGE, "not JSON"),
    ],
)
def test_each_fault_costs_only_its_own_host(fault: Fault, kind: ErrorKind, words: str) -> None:
    bad = file_server("BAD.lab.test")
    bad.fault = fault
    with WinRMEndpoint({"good": file_server(), "bad": bad}, password=PASSWORD, slow_seconds=3) as ep:
        found = collect(ep, [HostRequest("good", paths=[parse_path(r"\\good\Exp")]),
                             HostRequest("bad", paths=[parse_path(r"\\bad\Exp")])], timeout=1.5)
    assert found["good"].error is None and found["good"].find_path(r"\\good\Exp") is not None
    error = found["bad"].error
    assert error is not None and error.kind is kind, error
    assert words in error.message
    assert PASSWORD not in error.message


def test_hostile_paths_arrive_as_data_and_the_script_is_unchanged() -> None:
    hostile = [
        "\\\\fs01\\x'; Remove-Item C:\\ -Recurse; '",
        "\\\\fs01\\Exp\\$(Stop-Computer -Force)",
        "\\\\fs01\\Exp\\`$env:USERNAME",
        "\\\\fs01\\Exp\\\u2018quoted\u2019 \u201cdouble\u201d",
    ]
    refs = [parse_path(p) for p in hostile[1:]]
    with WinRMEndpoint({"fs01": file_server()}, password=PASSWORD) as ep:
        found = collect(ep, [HostRequest("fs01", paths=refs)])
        received = ep.requests["fs01"][0]
        assert ep.unknown_scripts == 0  # byte-identical to the resource
        lines = ep.command_lines
    assert [p["raw"] for p in received["paths"]] == [r.raw for r in refs]
    assert all(r.raw not in line for r in refs for line in lines)  # never on the command line
    assert found["fs01"].error is None
    script = collection_script()
    assert "Invoke-Expression" not in script and "iex " not in script.lower()


def test_every_command_line_stays_under_the_cmd_exe_limit() -> None:
    with WinRMEndpoint({"fs01": file_server()}, password=PASSWORD) as ep:
        collect(ep, [HostRequest("fs01", paths=[parse_path(r"\\fs01\Exp")])])
        longest = max(len(line) for line in ep.command_lines)
    assert longest == command_line_length() <= COMMAND_LINE_LIMIT
    # and the script itself could never have been sent as -EncodedCommand
    assert len(base64.b64encode(collection_script().encode("utf-16-le"))) > COMMAND_LINE_LIMIT


def test_hosts_run_in_parallel_with_one_command_each() -> None:
    hosts = {f"h{i}": file_server(f"H{i}.lab.test") for i in range(24)}
    requests = [HostRequest(name, paths=[parse_path(rf"\\{name}\Exp")]) for name in hosts]
    with WinRMEndpoint(hosts, password=PASSWORD, latency=0.05) as ep:
        started = time.monotonic()
        found = collect(ep, requests, concurrency=8)
        parallel = time.monotonic() - started
        assert set(ep.commands.values()) == {1}
    assert all(f.error is None for f in found.values())
    one_host = 6 * 0.05  # six WS-Management requests per host
    assert parallel < 3 * one_host * 3  # ceil(24/8) rounds, with generous slack; sequential would be ~7 s


def test_progress_callback_sees_every_host() -> None:
    seen: list[str] = []
    with WinRMEndpoint({"a": file_server(), "b": file_server()}, password=PASSWORD) as ep:
        collect_hosts(config(), [HostRequest("a"), HostRequest("b")], PASSWORD, on_result=lambda h: seen.append(h.name),
                      session_factory=ep.protocol_factory())
    assert sorted(seen) == ["a", "b"]


def test_wrong_password_is_auth_error_without_the_password() -> None:
    with WinRMEndpoint({"a": file_server()}, password="another-one") as ep:
        found = collect_hosts(config(), [HostRequest("a")], PASSWORD, session_factory=ep.protocol_factory(3, PASSWORD))
    assert found["a"].error is not None and found["a"].error.kind is ErrorKind.AUTH
    assert PASSWORD not in found["a"].error.message


def test_output_parser_handles_powershell_json_shapes() -> None:
    # ConvertTo-Json writes one-element arrays as the element itself
    doc = {"schema": "offlineprep/host/v1", "errors": {}, "ip_addresses": "10.0.0.1",
           "local_groups": {"sid": "S-1-5-32-544", "name": "Administrators", "members": {"sid": "S-1-5-21-1-2-3-4"}},
           "paths": {"path": r"\\a\b", "exists": True}, "vms": {"name": "v", "disk_bytes": "12"}}
    facts = parse_output("a", json.dumps(doc).encode(), b"", 0)
    assert facts.ip_addresses == ["10.0.0.1"]
    assert facts.local_groups[0].member_sids == ["S-1-5-21-1-2-3-4"]
    assert facts.vms is not None and facts.vms[0].disk_bytes == 12
    assert parse_output("a", b'{"schema": "other"}', b"", 0).error is not None
    assert parse_output("a", b'[1, 2]', b"", 0).error is not None


def test_clixml_is_decoded_into_the_error_text() -> None:
    clixml = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
              b'<S S="Error">Access is denied._x000D__x000A_</S><S S="Progress">x</S></Objs>')
    assert decode_clixml(clixml) == "Access is denied."
