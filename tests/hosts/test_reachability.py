"""host.reachable passes only a host that answered an authenticated WS-Management request.

Every case goes through real pywinrm: to a name that does not resolve, to the loopback endpoint
with a transport this machine cannot use, and to listeners that answer something else than
WS-Management. The one seam is pywinrm's own record of an optional library (HAVE_KERBEROS), which
is what a machine without `offlineprep[kerberos]` has.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offlineprep.collect.hosts import collect_hosts
from offlineprep.collect.requests import HostRequest
from offlineprep.engine import CheckContext, discover, run_check
from offlineprep.facts import ErrorKind, Facts, HostFacts, ToolStamp
from offlineprep.lab.windows import Fault, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.localcheck import install_extra
from offlineprep.model import Status
from offlineprep.site import Site, WinRMConfig

PASSWORD = "Reach-S3cret-9c1e"
CHECKS = {c.id: c for c in discover(include_entry_points=False).checks}


def site_with(host: str, transport: str = "basic", scheme: str = "http") -> Site:
    return Site.model_validate({
        "winrm": {"transport": transport, "scheme": scheme, "user": "LAB\\preflight", "timeout_seconds": 3},
        "accounts": {"vmm_service": "LAB\\svc-vmm"},
        "source": {"hosts": [host], "export_path": r"\\fs01.lab.test\Exp"},
        "target": {"hosts": ["hv11.lab.test"], "import_path": r"\\fs11.lab.test\Imp"},
    })


def reachable_finding(site: Site, host: HostFacts):  # type: ignore[no-untyped-def]
    facts = Facts(tool=ToolStamp(version="test"), hosts={host.name: host})
    return next(f for f in run_check(CHECKS["host.reachable"], CheckContext(site=site, facts=facts))
                if f.subject == host.name)


def test_a_name_that_does_not_resolve_fails_naming_dns() -> None:
    name = "hv01.offlineprep-test.invalid"  # RFC 6761: .invalid never resolves
    site = site_with(name)
    assert site.winrm is not None
    found = collect_hosts(site.winrm, [HostRequest(name, hyperv=True)], PASSWORD)[name]
    assert not found.reachable
    assert found.error is not None and found.error.kind is ErrorKind.NAME_RESOLUTION
    assert found.error.message == f"{name} does not resolve in DNS from this machine"
    finding = reachable_finding(site, found)
    assert finding.status is Status.FAIL and "does not resolve in DNS" in finding.message


def test_kerberos_without_its_library_fails_every_host_before_any_packet(monkeypatch: pytest.MonkeyPatch) -> None:
    # before: pywinrm's "requested auth method is kerberos, but pykerberos is not installed" was taken
    # for an answer of a connected host, and host.reachable passed even for names that do not resolve
    import winrm.transport

    monkeypatch.setattr(winrm.transport, "HAVE_KERBEROS", False)
    config = WinRMConfig(transport="kerberos", scheme="http", user="preflight@LAB.TEST", timeout_seconds=3)
    with WinRMEndpoint({"hv01": SimulatedHost("HV01.lab.test")}, password=PASSWORD) as ep:
        found = collect_hosts(config, [HostRequest("hv01"), HostRequest("hv02.offlineprep-test.invalid")], PASSWORD,
                              session_factory=ep.protocol_factory(3, transport="kerberos"))
        assert sum(ep.commands.values()) == 0
    for host in found.values():
        assert not host.reachable and host.error is not None and host.error.kind is ErrorKind.CLIENT
        assert install_extra("kerberos") in host.error.message and "kinit" in host.error.message
        finding = reachable_finding(site_with(host.name, transport="kerberos"), host)
        assert finding.status is Status.FAIL
        assert finding.remediation is None  # nothing to change on the host: the fix is on this machine


def test_kerberos_without_a_ticket_says_kinit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # real pykerberos against an empty credentials cache: the listener offers Negotiate, the library has
    # no ticket to answer with, and pywinrm reports only the server's 401
    conf = tmp_path / "krb5.conf"
    conf.write_text("[libdefaults]\n default_realm = LAB.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n")
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ticket-here'}")
    config = WinRMConfig(transport="kerberos", scheme="http", user="preflight@LAB.TEST", timeout_seconds=3)
    with WinRMEndpoint({"hv01": SimulatedHost("HV01.lab.test")}, password=PASSWORD) as ep:
        found = collect_hosts(config, [HostRequest("hv01")], PASSWORD,
                              session_factory=ep.protocol_factory(3, transport="kerberos"))["hv01"]
    assert not found.reachable and found.error is not None and found.error.kind is ErrorKind.CLIENT
    assert "no Kerberos ticket" in found.error.message and "kinit preflight@LAB.TEST" in found.error.message


@pytest.mark.parametrize(("fault", "reachable", "kind"), [
    (Fault.HTTP_500, False, ErrorKind.PROTOCOL),  # an HTTP 500 page is no WS-Management answer
    (Fault.SOAP_FAULT, True, ErrorKind.PROTOCOL),  # a WS-Management fault is the service answering
    (Fault.HTTP_401, False, ErrorKind.AUTH),
    (Fault.REFUSE, False, ErrorKind.UNREACHABLE),
    (Fault.GARBAGE, True, ErrorKind.GARBAGE),  # the shell opened: the host answered, its script did not
    (Fault.SLOW, True, ErrorKind.TIMEOUT),  # likewise: answered WinRM, the script did not finish in time
])
def test_reachable_means_an_authenticated_ws_management_answer(fault: Fault, reachable: bool,
                                                               kind: ErrorKind) -> None:
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=3)
    with WinRMEndpoint({"h": SimulatedHost("H.lab.test", fault=fault)}, password=PASSWORD, slow_seconds=4) as ep:
        found = collect_hosts(config, [HostRequest("h")], PASSWORD, session_factory=ep.protocol_factory(3))["h"]
    assert found.reachable is reachable and found.error is not None and found.error.kind is kind, found.error


def test_tls_to_an_http_listener_names_the_listener_not_the_certificate() -> None:
    config = WinRMConfig(transport="basic", scheme="https", user="lab\\preflight", timeout_seconds=3)
    with WinRMEndpoint({"h": SimulatedHost("H.lab.test")}, password=PASSWORD) as ep:
        factory = ep.protocol_factory(3)

        def https(host: str):  # type: ignore[no-untyped-def]
            protocol = factory(host)
            protocol.transport.endpoint = protocol.transport.endpoint.replace("http://", "https://")
            return protocol

        found = collect_hosts(config, [HostRequest("h")], PASSWORD, session_factory=https)["h"]
    assert not found.reachable and found.error is not None and found.error.kind is ErrorKind.TLS
    assert "no WinRM HTTPS listener" in found.error.message and "certificate" not in found.error.message


def test_the_script_is_streamed_in_pipe_mode_and_console_mode_never_ends() -> None:
    from winrm.exceptions import WinRMOperationTimeoutError

    from offlineprep.collect.hosts import stdin_payload
    from offlineprep.winrm.delivery import command_line

    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=3)
    with WinRMEndpoint({"h": SimulatedHost("H.lab.test")}, password=PASSWORD) as ep:
        found = collect_hosts(config, [HostRequest("h")], PASSWORD, session_factory=ep.protocol_factory(3))["h"]
        assert found.error is None and ep.console_mode_commands == 0
        # pywinrm's default (console mode) gives the script no end of input: it never finishes
        protocol = ep.protocol_factory(3)("h")
        shell = protocol.open_shell(codepage=65001, noprofile=True)
        command, args = command_line()
        command_id = protocol.run_command(shell, command, args)
        protocol.send_command_input(shell, command_id, stdin_payload(HostRequest("h")), end=True)
        with pytest.raises(WinRMOperationTimeoutError):
            protocol.get_command_output_raw(shell, command_id)
        assert ep.console_mode_commands == 1


def test_output_split_over_receives_inside_a_utf8_sequence_arrives_whole() -> None:
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5)
    host = SimulatedHost("SRV-MÜNCHEN-ÄÖÜ.lab.test")
    with WinRMEndpoint({"h": host}, password=PASSWORD, receive_chunk_bytes=7) as ep:
        found = collect_hosts(config, [HostRequest("h")], PASSWORD, session_factory=ep.protocol_factory(5))["h"]
        assert ep.receives["h"] > 10
    assert found.error is None and found.computer_name == "SRV-MÜNCHEN-ÄÖÜ.lab.test"


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_the_listener_fix_is_made_on_the_host_and_verified_with_test_wsman(scheme: str) -> None:
    # before: "Enable-PSRemoting -Force" for every cause, which makes only an HTTP listener (5985)
    import pwsh_syntax

    from offlineprep.actions import powershell as ps
    from offlineprep.actions.types import ConfigureWinRMListener, hyperv_host
    from offlineprep.facts import CollectionError

    name = "hv01.contoso.com"
    host = HostFacts(name=name, reachable=False, error=CollectionError(
        kind=ErrorKind.UNREACHABLE, message=f"connection refused by {name} on port 5986"))
    finding = reachable_finding(site_with(name, scheme=scheme), host)
    assert finding.status is Status.FAIL and finding.remediation is not None
    [action] = finding.remediation.actions  # a typed action, rendered like every other
    assert isinstance(action, ConfigureWinRMListener) and action.on_the_machine
    assert (action.owner, action.computer_name, action.scheme, action.before) == (
        hyperv_host(name), "HV01", scheme, "unreachable")
    assert "as a local administrator" in finding.remediation.summary and "itself" in action.rights
    fix = finding.remediation.powershell
    assert fix == "\n".join(ps.fix_lines(action))
    pwsh_syntax.assert_values_in_literals(fix, [name, "HV01"], "the listener fix")
    assert fix.startswith("if ($env:COMPUTERNAME -ieq 'HV01') {")  # runs on the host itself, nowhere else
    assert "as a local administrator" in fix
    if scheme == "https":
        assert action.port == 5986
        assert "New-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{Transport = 'HTTPS'; " in fix
        assert "CertificateThumbprint = $cert.Thumbprint" in fix and "-SSLServerAuthentication" in fix
        assert "-LocalPort $Port" in fix and "-Profile Domain" in fix and "'5986'" in fix
        # elsewhere, the check from another machine
        assert f"Test-WSMan -ComputerName '{name}' -UseSSL -ErrorAction Stop" in fix
    else:
        assert "Enable-PSRemoting -Force" in fix and "HTTPS" not in fix
        assert f"Test-WSMan -ComputerName '{name}' -ErrorAction Stop" in fix


def test_the_https_listener_revert_removes_only_what_the_fix_added() -> None:
    """The firewall rule is ours by name; the listener is removed only when the rule records that the
    fix made it (one there before stays). Enable-PSRemoting is Windows Server's default: not undone."""
    import pwsh_syntax

    from offlineprep.remediation import winrm_listener

    https = winrm_listener("fs01.contoso.com", "FS01", "https", 5986, hyperv=False, before="tls")
    assert https.actions[0].owner is not None and https.actions[0].owner.kind == "file-server"
    assert https.revert is not None
    pwsh_syntax.assert_values_in_literals(https.revert, ["fs01.contoso.com", "FS01", "offlineprep-WinRM-HTTPS-In"])
    assert https.revert.startswith("if ($env:COMPUTERNAME -ieq 'FS01') {")
    assert "if ($ours -and $ours.Description -eq $Made) {" in https.revert
    assert "Remove-WSManInstance -ResourceURI 'winrm/config/Listener'" in https.revert
    assert "if ($ours) { Remove-NetFirewallRule -Name $Rule }" in https.revert
    made = https.powershell.split("if ($https.Count -eq 0) {")[1].split("\n" + " " * 8 + "}")[0]
    assert "New-WSManInstance" in made and "$description = $Made" in made  # recorded only when it made one
    assert "Enable-PSRemoting" not in https.revert
    assert winrm_listener("fs01.contoso.com", "FS01", "http", 5985, hyperv=False, before="timeout").revert is None


@pytest.mark.parametrize("kind", [ErrorKind.NAME_RESOLUTION, ErrorKind.CLIENT, ErrorKind.AUTH])
def test_causes_a_listener_does_not_repair_get_no_listener_fix(kind: ErrorKind) -> None:
    from offlineprep.facts import CollectionError

    host = HostFacts(name="hv01.contoso.com", reachable=False, error=CollectionError(kind=kind, message="x"))
    finding = reachable_finding(site_with("hv01.contoso.com", scheme="https"), host)
    assert finding.status is Status.FAIL and finding.remediation is None
