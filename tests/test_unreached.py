"""A machine that reaches none of the site (issue 21.4; SPEC §10 and §13): one INCOMPLETE cause, said
once, not a blocking finding per machine and check; the fix script says nothing was evaluated."""

from __future__ import annotations

import json
from pathlib import Path

import builders
import pytest
from test_verdict_agreement import check_counts

from offlineprep import pipeline
from offlineprep.cli import _exit_code, app
from offlineprep.facts import CollectionError, ErrorKind, Facts


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = _exit_code(lambda: app(list(args), prog_name="offlineprep", standalone_mode=False))
    return code, capsys.readouterr().out


def test_a_site_whose_names_do_not_resolve_here_is_one_incomplete_cause(
        site_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    site_file.write_text(site_file.read_text().replace("contoso.com", "contoso.invalid").replace('"hv02"',
                                                                                               '"hv02.contoso.invalid"'))
    monkeypatch.setenv("OFFLINEPREP_LDAP_PASSWORD", "x-secret-x")
    monkeypatch.setenv("OFFLINEPREP_WINRM_PASSWORD", "y-secret-y")
    paths = {fmt: tmp_path / f"out.{fmt}" for fmt in ("json", "markdown", "html", "fix-script", "junit")}
    code, stdout = run(capsys, "preflight", "--config", str(site_file),
                       *(a for fmt, p in paths.items() for a in (f"--{fmt}", str(p))))
    assert code == 3, stdout
    said = "this machine reached none of the 6 machines of the site: 6 do not resolve in DNS"
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("INCOMPLETE: ") and said in last, last
    assert stdout.count("reached none of") == 1  # said once
    assert "FAIL " not in stdout and " 0 fail," in last
    data = json.loads(paths["json"].read_text())
    assert data["verdict"] == "incomplete" and len(data["unreached"]["machines"]) == 6
    reachable = [f for f in data["findings"] if f["check"] == "host.reachable"]
    assert len(reachable) == 5 and all(f["status"] == "error" and f["cause"]["kind"] == "name-resolution"
                                       for f in reachable)  # the JSON keeps each, as what it is
    assert not any(f.get("remediation") for f in reachable)  # no WinRM listener "fix" for this machine's DNS
    blocking = [f for f in data["findings"] if f["status"] in ("fail", "error")
                and f.get("cause", {}).get("machine", "").casefold() not in
                {m.casefold() for m in data["unreached"]["machines"]}]
    assert f"; {len(blocking)} blocking under --fail-on fail" in last and len(blocking) <= 2  # not dozens
    markdown = paths["markdown"].read_text()
    assert markdown.count("reached none of") == 1 and "**INCOMPLETE**" in markdown
    script = paths["fix-script"].read_text(encoding="utf-8-sig")
    assert "evaluated nothing" in script and "found nothing to fix" not in script
    check_counts(stdout, paths)  # every number on the pages adds up to the JSON's (issue 21.5)


def _facts(**errors: CollectionError | None) -> Facts:
    facts = builders.facts()
    hosts = builders.hosts()
    for name, error in errors.items():
        host = name.replace("_", ".")
        hosts[host] = hosts[host].model_copy(update={"reachable": error is None, "error": error})
    facts.hosts = {n: h for n, h in hosts.items()}
    return facts


def _down(kind: ErrorKind) -> CollectionError:
    return CollectionError(kind=kind, message=f"{kind.value} from this machine")


def test_unreached_needs_every_machine_failed_for_a_reason_of_this_side() -> None:
    everyone = {name.replace(".", "_"): _down(ErrorKind.UNREACHABLE) for name in builders.hosts()}
    unreached = pipeline.unreached_from_here(_facts(**everyone))
    assert unreached is not None and len(unreached.machines) == len(everyone)
    assert "refused the connection or have no route from here" in unreached.text
    one_answered = {**everyone, next(iter(everyone)): None}
    assert pipeline.unreached_from_here(_facts(**one_answered)) is None  # something was reached
    refused_login = {**everyone, next(iter(everyone)): _down(ErrorKind.AUTH)}
    assert pipeline.unreached_from_here(_facts(**refused_login)) is None  # a host answered: HTTP 401
    assert pipeline.unreached_from_here(builders.facts()) is None
    from_file = pipeline.unreached_from_here(_facts(**everyone), facts_file="f.json")
    assert from_file is not None and from_file.text.startswith("the machine that collected these facts reached none")


def test_a_proxy_that_fails_is_this_machines_side() -> None:
    """pywinrm goes through the proxy of the environment (its proxy="legacy_requests"): a proxy that
    refuses is a cause of this machine, said as such, not "WinRM to host failed: ProxyError"."""
    import requests

    from offlineprep.site import WinRMConfig
    from offlineprep.winrm.causes import describe_winrm_error

    config = WinRMConfig(transport="ntlm", scheme="https", user="CONTOSO\\svc")
    error = requests.exceptions.ProxyError("Unable to connect to proxy", OSError("Tunnel connection failed: 403"))
    kind, message = describe_winrm_error(error, "hv01.contoso.com", config)
    assert kind is ErrorKind.UNREACHABLE
    assert message.startswith("cannot reach hv01.contoso.com through the proxy this machine uses (HTTP_PROXY")
