"""Exit codes, outputs, lazy collection and re-rendering, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import builders
import pytest

from offlineprep import cli
from offlineprep.facts import CollectionError, ErrorKind, HostFacts

CHECKS_DIR = Path(__file__).parent / "fixtures" / "checks"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def write_facts(tmp_path: Path, **changes: HostFacts) -> Path:
    facts = builders.facts()
    assert facts.hosts is not None
    facts.hosts.update(changes)
    path = tmp_path / "facts.json"
    path.write_text(facts.to_json())
    return path


def test_exit_0_when_ready(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "READY" in proc.stdout
    assert json.loads((tmp_path / "r.json").read_text())["verdict"] == "ready"


def test_exit_1_on_failure_and_every_output_written(site_file: Path, tmp_path: Path) -> None:
    bad = builders.hosts()["fs01.contoso.com"]
    bad = bad.model_copy(update={"hyperv_installed": True})
    facts = write_facts(tmp_path, **{"fs01.contoso.com": bad})
    outs = {f: tmp_path / f"out.{f}" for f in ("html", "json", "junit", "markdown", "fix-script")}
    args = [a for f, p in outs.items() for a in (f"--{f}", str(p))]
    proc = run("preflight", "--config", str(site_file), "--facts", str(facts), *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert all(p.exists() and p.stat().st_size > 0 for p in outs.values())


def test_exit_3_when_something_could_not_be_evaluated(site_file: Path, tmp_path: Path) -> None:
    broken = HostFacts(name="fs01.contoso.com", reachable=True,
                       error=CollectionError(kind=ErrorKind.GARBAGE, message="fs01 sent output that is not JSON"))
    facts = write_facts(tmp_path, **{"fs01.contoso.com": broken})
    proc = run("preflight", "--config", str(site_file), "--facts", str(facts), "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["verdict"] == "incomplete"
    about_fs01 = [f for f in results["findings"] if f["subject"].startswith(r"\\fs01")]
    # path.host-accounts does not apply under Site Recovery whatever the facts say: it skips, never errs
    assert {f["status"] for f in about_fs01 if f["check"] != "path.host-accounts"} == {"error"}
    assert {f["status"] for f in about_fs01 if f["check"] == "path.host-accounts"} == {"skip"}
    assert run("preflight", "--config", str(site_file), "--facts", str(facts), "--fail-on", "error").returncode == 1
    assert run("preflight", "--config", str(site_file), "--facts", str(facts), "--exit-zero").returncode == 0


def test_fail_on_warn_and_never(site_file: Path, tmp_path: Path) -> None:
    low = builders.hosts()["fs01.contoso.com"]
    path = low.paths[0].model_copy(update={"free_bytes": 1})
    facts = write_facts(tmp_path, **{"fs01.contoso.com": low.model_copy(update={"paths": [path]})})
    base = ["preflight", "--config", str(site_file), "--facts", str(facts)]
    assert run(*base).returncode == 0  # a warning alone is ready
    assert run(*base, "--fail-on", "warn").returncode == 1
    assert run(*base, "--fail-on", "never").returncode == 0


def test_exit_2_for_usage_and_site_errors(site_file: Path, tmp_path: Path) -> None:
    bad_site = tmp_path / "bad.toml"
    bad_site.write_text(site_file.read_text().replace("[policy]", "[policy]\nbogus = 1"))
    proc = run("preflight", "--config", str(bad_site), "--facts", str(tmp_path / "none.json"))
    assert proc.returncode == 2 and f"{bad_site}:" in proc.stderr and "bogus" in proc.stderr
    assert run("preflight").returncode == 2  # neither --config nor --demo
    assert run("preflight", "--config", str(site_file), "--only", "nothing.*").returncode == 2
    assert run("preflight", "--config", str(site_file), "--fail-on", "sometimes").returncode == 2
    proc = run("preflight", "--config", str(site_file), "--only", "ad.*", env={"OFFLINEPREP_LDAP_PASSWORD": ""})
    assert proc.returncode == 2 and "OFFLINEPREP_LDAP_PASSWORD" in proc.stderr  # no secret, no terminal


def test_exit_4_on_an_internal_error_never_0(site_file: Path, healthy_facts: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("offlineprep.pipeline.build_results", explode)
    monkeypatch.setattr(sys, "argv", ["offlineprep", "preflight", "--config", str(site_file), "--facts",
                                      str(healthy_facts)])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    assert caught.value.code == 4
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err


def test_only_ad_opens_no_winrm_connection(site_file: Path) -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['offlineprep', 'preflight', '--config', sys.argv[1], '--only', 'ad.*']\n"
        "from offlineprep.cli import main\n"
        "try:\n    main()\n"
        "except SystemExit as e:\n    print('EXIT', e.code, 'winrm' in sys.modules, 'ldap3' in sys.modules)\n"
    )
    site = site_file.read_text().replace("ldaps://dc1.contoso.com", "ldaps://127.0.0.1:1")
    site_file.write_text(site)
    import os

    proc = subprocess.run([sys.executable, "-c", code, str(site_file)], capture_output=True, text=True,
                          env={**os.environ, "OFFLINEPREP_LDAP_PASSWORD": "x-secret-x"}, timeout=60)
    assert "EXIT 3 False True" in proc.stdout, proc.stdout + proc.stderr


def test_pipeline_collects_only_what_the_selected_checks_need(site_file: Path) -> None:
    from offlineprep import pipeline
    from offlineprep.engine import discover, needs_of
    from offlineprep.sitefile import load_site

    site = load_site(site_file)
    calls: list[str] = []
    collectors = pipeline.Collectors(
        directory=lambda c, r, p: calls.append("directory") or builders.directory(),  # type: ignore[func-returns-value]
        hosts=lambda c, r, p, on_result=None: calls.append("hosts") or builders.hosts(),  # type: ignore[func-returns-value]
    )
    catalogue = discover(include_entry_points=False)
    facts = pipeline.collect(site, needs_of(catalogue.select(["ad.*"])), collectors, lambda e, p: "pw")
    assert calls == ["directory"] and facts.hosts is None
    calls.clear()
    pipeline.collect(site, needs_of(catalogue.select(["policy.settings"])), collectors, lambda e, p: "pw")
    assert calls == []
    scope = pipeline.collection_scope(site, needs_of(catalogue.select(["path.*", "host.*"])))
    assert sorted(r.name for r in scope.hosts) == ["fs01.contoso.com", "fs11.contoso.com", "hv01.contoso.com",
                                                  "hv02", "hv11.contoso.com"]


def test_report_rerenders_from_saved_results(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    results = tmp_path / "r.json"
    assert run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--json", str(results)).returncode == 0
    proc = run("report", str(results), "--html", str(tmp_path / "r.html"), "--junit", str(tmp_path / "j.xml"),
               "--markdown", str(tmp_path / "r.md"))
    assert proc.returncode == 0, proc.stderr
    assert "READY" in (tmp_path / "r.html").read_text()
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite") is not None
    (tmp_path / "junk.json").write_text("{}")
    assert run("report", str(tmp_path / "junk.json"), "--html", str(tmp_path / "x.html")).returncode == 2


def test_checks_catalogue_lists_every_spec_check() -> None:
    proc = run("checks", "--json")
    ids = {c["id"] for c in json.loads(proc.stdout)["checks"]}
    assert ids >= {"ad.host-account", "ad.delegation", "ad.delegation-target", "ad.account-delegable",
                   "host.reachable", "path.exists", "path.ntfs-full-control", "path.share-full-control",
                   "path.share-host-group", "path.runas-read-write", "path.not-on-hyperv-host", "path.free-space",
                   "policy.same-host-os", "policy.settings", "policy.replication-port"}


def test_init_writes_a_valid_site_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "new.toml"
    assert run("init", str(target)).returncode == 0
    from offlineprep.sitefile import load_site

    load_site(target)
    assert run("init", str(target)).returncode == 2


def test_checks_dir_adds_a_pack_and_a_raising_check_is_an_error_finding(site_file: Path, healthy_facts: Path,
                                                                          tmp_path: Path) -> None:
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--checks-dir", str(CHECKS_DIR),
               "--only", "custom.*", "--json", str(tmp_path / "r.json"))
    findings = json.loads((tmp_path / "r.json").read_text())["findings"]
    by_check = {f["check"]: f for f in findings}
    assert by_check["custom.always-pass"]["status"] == "pass"
    assert by_check["custom.raises"]["status"] == "error"
    assert "custom.raises failed internally" in by_check["custom.raises"]["message"]
    assert proc.returncode == 3


def test_an_only_glob_that_matches_no_check_is_a_usage_error_naming_it(site_file: Path, healthy_facts: Path) -> None:
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--only", "ad.*",
               "--only", "pth.*")
    assert proc.returncode == 2 and "--only 'pth.*' matches no check" in proc.stderr, proc.stderr
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--skip", "pth.*")
    assert proc.returncode == 0 and "--skip 'pth.*' matches no check" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xb0\x01binary garbage", "not UTF-8"),
        (b"{", "not JSON"),
        (b"[]", "not an offlineprep facts file"),
        (b'{"schema": "offlineprep/facts/v9"}', "offlineprep/facts/v9"),
        (b'{"schema": "offlineprep/facts/v1", "tool": {"version": "0"}, "hosts": {"h": {"name": 5}}}', "hosts.h.name"),
    ],
)
def test_a_bad_facts_file_is_a_usage_error_naming_it(site_file: Path, tmp_path: Path, content: bytes,
                                                      needle: str) -> None:
    path = tmp_path / "facts.json"
    path.write_bytes(content)
    proc = run("preflight", "--config", str(site_file), "--facts", str(path))
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:" in proc.stderr and needle in proc.stderr, proc.stderr


def test_facts_and_results_saved_with_a_bom_load(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    """PowerShell 5's Set-Content -Encoding UTF8 adds a BOM when a support engineer edits a file."""
    facts = tmp_path / "bom-facts.json"
    facts.write_bytes(b"\xef\xbb\xbf" + healthy_facts.read_bytes())
    results = tmp_path / "r.json"
    assert run("preflight", "--config", str(site_file), "--facts", str(facts), "--json", str(results)).returncode == 0
    results.write_bytes(b"\xef\xbb\xbf" + results.read_bytes())
    assert run("report", str(results), "--junit", str(tmp_path / "j.xml")).returncode == 0


def test_json_findings_carry_optional_keys_only_when_they_apply(site_file: Path, healthy_facts: Path,
                                                               tmp_path: Path) -> None:
    """SPEC §5: "target"? and "account"? and "remediation"?: absent, not null, where they do not apply."""
    assert run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--json",
               str(tmp_path / "r.json")).returncode == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert {"schema", "tool", "generated_at", "verdict", "summary", "findings"} <= set(data)
    for finding in data["findings"]:
        assert None not in finding.values(), finding
        assert {"check", "status", "severity", "subject", "message", "evidence"} <= set(finding)
        # the path computer of a host × path computer pair (ad.delegation, host.path-reachable); the Replica
        # server of a source host × Replica server pair (replica.connection)
        assert ("target" in finding) == (finding["check"] in {"ad.delegation", "host.path-reachable",
                                                              "replica.connection"}), finding
    accounts = {f["check"] for f in data["findings"] if "account" in f}
    assert accounts == {"path.ntfs-full-control", "path.share-full-control", "path.share-host-group",
                        "path.runas-read-write"}


def test_output_to_a_pipe_is_not_wrapped_at_80_columns(site_file: Path, tmp_path: Path) -> None:
    import os

    bad = builders.hosts()["fs01.contoso.com"].model_copy(update={"hyperv_installed": True})
    facts = write_facts(tmp_path, **{"fs01.contoso.com": bad})
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site_file), "--facts",
                           str(facts), "--json", str(tmp_path / "r.json")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 1
    message = next(f["message"] for f in json.loads((tmp_path / "r.json").read_text())["findings"]
                   if f["status"] == "fail")
    assert len(message) > 60 and any(line.endswith(message) for line in proc.stdout.splitlines()), proc.stdout
    assert "\x1b[" not in proc.stdout + proc.stderr
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site_file), "--only",
                           "no-such-check-id-anywhere.*", "--facts", str(facts)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_fail_on_is_case_insensitive(site_file: Path, healthy_facts: Path) -> None:
    assert run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--fail-on", "Warn").returncode == 0


def test_a_checks_dir_that_does_not_exist_is_a_usage_error(site_file: Path, healthy_facts: Path,
                                                            tmp_path: Path) -> None:
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--checks-dir",
               str(tmp_path / "my-checks"))
    assert proc.returncode == 2 and f"{tmp_path / 'my-checks'}" in proc.stderr, proc.stderr
