"""Issue 20, item 2: a machine name never becomes a URL unless it is a host name (docs/security.md,
"Names"). A name such as `127.0.0.1:<port>/evil#` made the WinRM URL `http://127.0.0.1:<port>/evil#:5985/wsman`:
the credentials went to whatever listened on that port. The listener here binds loopback only,
records what reaches it, and stops with the test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from offlineprep.collect.remote import remote_runner
from offlineprep.collect.sources import DiscoveryContext, RemoteCall
from offlineprep.collect.sources.cluster import apply_cluster_view, read_cluster_answer
from offlineprep.collect.sources.vmm import VmmSettings, VmmSource
from offlineprep.facts import ErrorKind
from offlineprep.inventory import InventoryBuilder, Origin, Role
from offlineprep.lab.cluster import ClusterNode, SimulatedCluster
from offlineprep.lab.vmm import Cloud, Host, HostGroup, SimulatedVmm
from offlineprep.lab.windows import SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.names import NameError_, url_host
from offlineprep.site import Site, WinRMConfig
from offlineprep.winrm.delivery import CollectionStats, make_protocol, run_payload

WINRM = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5, concurrency=4,
                    message_encryption="never")


class Listener:
    """A loopback HTTP server that records every request (and its Authorization header)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                listener.requests.append((self.path, self.headers.get("Authorization") or ""))
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def hostile(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}/evil#"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    try:
        yield running
    finally:
        running.stop()


HOSTILE = ["127.0.0.1:18085/evil#", "hv01.contoso.com:80", "user@hv01", "hv01/wsman", "hv01#x", "hv01?x=1",
           "hv01 .contoso.com", "hv01\n", "fe80::1%eth0", "[::1]:5985", "", "hv01\u202e"]


@pytest.mark.parametrize("name", HOSTILE)
def test_the_url_guard_refuses_anything_but_a_host_name(name: str) -> None:
    with pytest.raises(NameError_):
        url_host(name)
    with pytest.raises(NameError_):
        make_protocol(WINRM, name, "pw")


def test_ipv6_addresses_are_bracketed_in_the_url() -> None:
    assert url_host("::1") == "[::1]" and url_host("[::1]") == "[::1]" and url_host("hv01.") == "hv01."


def test_a_hostile_machine_name_never_reaches_the_listener(listener: Listener) -> None:
    payload = b"e30=\nWrite-Output 1"
    for factory in (lambda host: make_protocol(WINRM, host, "the-password"),
                    # a factory that does not validate (the lab's): run_payload refuses before it is called
                    lambda host: __import__("winrm.protocol").protocol.Protocol(
                        endpoint=f"http://{host}:5985/wsman", transport="basic", username="u",
                        password="the-password", message_encryption="never")):
        ran = run_payload(WINRM, listener.hostile, payload, factory, "the-password", CollectionStats(), "test")
        assert ran.error is not None and ran.error.kind is ErrorKind.CLIENT
        assert "nothing was sent" in ran.error.message
    assert listener.requests == []  # before: POST /evil with Basic credentials, twice


@pytest.fixture
def endpoint(listener: Listener) -> Iterator[WinRMEndpoint]:
    cluster = SimulatedCluster(Name="HVC9", Domain="lab.test",
                               nodes=[ClusterNode("HVC9-N1", "Up"), ClusterNode(listener.hostile, "Up")])
    group = HostGroup("Production", hosts=[Host("hv01.lab.test"), Host(listener.hostile)])
    vmm = SimulatedVmm(computer_name="vmm01.lab.test", domain="lab.test", clouds=[Cloud("Gold", [group])],
                       host_groups=[group])
    hosts = {"hvc9-n1.lab.test": SimulatedHost("HVC9-N1.lab.test", hyperv_installed=True),
             "hv01.lab.test": SimulatedHost("HV01.lab.test", hyperv_installed=True)}
    with WinRMEndpoint(hosts, password="pw", vmm={"vmm01.lab.test": vmm}, clusters={"hvc9.lab.test": cluster}) as run:
        yield run


def _reach_every_host(builder: InventoryBuilder, endpoint: WinRMEndpoint) -> None:
    """What collection does next: each host of the inventory over WinRM (the site's way for a name the lab
    does not know)."""
    lab = endpoint.protocol_factory(5)

    def factory(host: str) -> Any:
        return lab(host) if endpoint.host_for(host) is not None else make_protocol(WINRM, host, "the-password")

    for host in builder.build().hosts:
        run_payload(WINRM, host.name, b"e30=\nWrite-Output 1", factory, "the-password", CollectionStats(), "test")


def test_a_cluster_answering_a_hostile_node_name_is_an_error_and_never_a_connection(
        endpoint: WinRMEndpoint, listener: Listener) -> None:
    builder = InventoryBuilder()
    builder.add_host("hvc9-n1.lab.test", Role.SOURCE, Origin.SITE_FILE)
    run = remote_runner(WINRM, "pw", endpoint.protocol_factory(5))
    result = run([RemoteCall(machine="hvc9-n1.lab.test", script="cluster", request={})])["hvc9-n1.lab.test"]
    assert result.document is not None, result.error
    answer = read_cluster_answer("hvc9-n1.lab.test", result.document)
    assert answer.view is not None
    cluster, _ = apply_cluster_view(builder, "hvc9-n1.lab.test", answer.view)
    assert cluster.problem is not None and listener.hostile in cluster.problem  # inventory.sources: an error
    assert all(listener.hostile not in h.name for h in builder.build().hosts)
    _reach_every_host(builder, endpoint)
    assert listener.requests == []  # before: the node was a host, and its URL went to the listener


def test_vmm_answering_a_hostile_host_name_is_an_error_of_the_vmm_source(
        endpoint: WinRMEndpoint, listener: Listener) -> None:
    site = Site.model_validate({"accounts": {"vmm_service": "LAB\\svc-vmm"}, "source": {"hosts": ["hv01.lab.test"]},
                                "target": {"hosts": ["hv11.lab.test"]}})
    context = DiscoveryContext(site=site, inventory=InventoryBuilder(),
                               run=remote_runner(WINRM, "pw", endpoint.protocol_factory(5)))
    VmmSource(VmmSettings(server="vmm01.lab.test", source_cloud="Gold", target_cloud=None)).discover(context)
    report = next(r for r in context.inventory.build().sources if r.source == "vmm")
    assert report.status == "error" and report.kind == "garbage"  # before: "partial", a warning
    assert report.message is not None and listener.hostile in report.message
    assert all(listener.hostile not in h.name for h in context.inventory.build().hosts)
    _reach_every_host(context.inventory, endpoint)
    assert listener.requests == []


@pytest.mark.parametrize("server", ["ldaps://u@dc1.contoso.com", "ldaps://127.0.0.1:18085/evil#",
                                    "ldaps://dc1.contoso.com/x?y"])
def test_a_directory_url_with_more_than_a_host_and_port_is_refused(server: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the directory server"):
        Site.model_validate({"directory": {"server": server, "user": "u"}, "source": {"hosts": ["hv01"]},
                             "target": {"hosts": ["hv11"]}})
