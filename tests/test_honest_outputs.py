"""Every output tells the same, complete story: partial runs, blocking, causes, report, saved facts.

Issue "Right the first time": an administrator must read the result correctly on the first run. Each
test runs the real entry point (`python -m offlineprep`) and reads what a person or a pipeline reads.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import builders

from offlineprep.engine import discover
from offlineprep.facts import CollectionError, DirectoryFacts, ErrorKind

KNOWN = len(discover(include_entry_points=False).checks)  # every built-in check

OUTPUTS = ("html", "json", "junit", "markdown")


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "250", **(env or {})}, timeout=120, cwd=cwd)


def outputs(tmp_path: Path, stem: str = "out") -> tuple[list[str], dict[str, Path]]:
    paths = {fmt: tmp_path / f"{stem}.{fmt}" for fmt in OUTPUTS}
    return [a for fmt, p in paths.items() for a in (f"--{fmt}", str(p))], paths


def facts_file(tmp_path: Path, name: str = "facts.json", **changes: object) -> Path:
    facts = builders.facts()
    for key, value in changes.items():
        setattr(facts, key, value)
    path = tmp_path / name
    path.write_text(facts.to_json())
    return path


# ---- 1. partial runs say so in every output -------------------------------------------------------------------

def test_a_partial_run_says_so_in_every_output(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    args, paths = outputs(tmp_path)
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--only", "policy.same-host-os",
               *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    banner = f"READY (partial: 1 of {KNOWN} checks)"
    assert banner in proc.stdout  # terminal
    assert f"partial run: 1 of {KNOWN} checks ran; the {KNOWN - 1} checks left out: " in proc.stdout
    html_text = paths["html"].read_text()
    assert f"<title>offlineprep: {banner}</title>" in html_text and f'id="verdict-word">{banner}</p>' in html_text
    assert "A READY verdict covers only the checks that ran" in html_text
    assert f"**{banner}**" in paths["markdown"].read_text()
    assert f"**Partial run**: 1 of {KNOWN} checks ran" in paths["markdown"].read_text()
    props = {p.get("name"): p.get("value") for p in ET.parse(paths["junit"]).getroot().iter("property")}
    assert props["verdict"] == banner and props["checks_run"] == "1" and props["checks_known"] == str(KNOWN)
    selection = json.loads(paths["json"].read_text())["selection"]
    assert selection["checks_run"] == ["policy.same-host-os"] and len(selection["checks_known"]) == KNOWN
    assert selection["only"] == ["policy.same-host-os"] and selection["skip"] == []


def test_a_complete_run_says_nothing_about_being_partial(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    args, paths = outputs(tmp_path)
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), *args)
    assert proc.returncode == 0
    texts = [proc.stdout, *(p.read_text() for p in paths.values())]
    texts = [re.sub(r"<(style|script)>.*?</\1>", "", t, flags=re.S) for t in texts]  # .partial is a CSS class
    assert json.loads(paths["json"].read_text())["partial"] is False  # the JSON says so, as a key
    texts = [t.replace('"partial": false', "") for t in texts]
    assert not any("partial" in t.lower() for t in texts)
    assert re.search(r"^READY: ", proc.stdout, re.M)


# ---- 4. one cause, one line ----------------------------------------------------------------------------------------

def test_a_dc_that_does_not_resolve_is_one_cause_with_its_count_everywhere(site_file: Path, tmp_path: Path) -> None:
    site_file.write_text(site_file.read_text().replace("ldaps://dc1.contoso.com", "ldaps://dc1.no-such-domain.invalid"))
    args, paths = outputs(tmp_path)
    proc = run("preflight", "--config", str(site_file), "--only", "ad.*", *args,
               env={"OFFLINEPREP_LDAP_PASSWORD": "x-secret-x"})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    data = json.loads(paths["json"].read_text())
    errors = [f for f in data["findings"] if f["status"] == "error"]
    assert len(errors) == len(data["findings"]) >= 8  # JSON keeps every finding, each with its cause
    cause = "dc1.no-such-domain.invalid does not resolve in DNS (from this machine)"
    assert all(f["cause"]["text"].startswith(cause) and f["cause"]["origin"] == "directory" for f in errors)
    checks = len({f["check"] for f in errors})  # checks counted as checks, findings as findings (issue 21.5)
    headline = f"— {checks} checks not evaluated ({len(errors)} findings)"
    lines = [line for line in proc.stdout.splitlines() if "ERROR" in line]
    assert len(lines) == 1 and cause in lines[0] and headline in lines[0], proc.stdout  # terminal: one line
    md_rows = [line for line in paths["markdown"].read_text().splitlines() if line.startswith("| error")]
    assert len(md_rows) == 1 and headline in md_rows[0]
    assert f"### Blocking ({len(errors)})" in paths["markdown"].read_text()
    page = paths["html"].read_text()
    assert page.count('<article class="cause"') == 1 and headline in page
    assert '<article class="finding"' not in page  # the errors are listed under their cause, not one by one
    assert f"What blocks ({len(errors)})" in page


def test_findings_of_two_hosts_down_are_two_causes_not_one_per_check(site_file: Path, tmp_path: Path) -> None:
    hosts = builders.hosts()
    for name in ("fs01.contoso.com", "fs11.contoso.com"):
        hosts[name] = hosts[name].model_copy(update={
            "reachable": False, "paths": [], "error": CollectionError(kind=ErrorKind.UNREACHABLE,
                                                                      message=f"{name} refused the connection on port 5985")})
    facts = facts_file(tmp_path, hosts=hosts)
    proc = run("preflight", "--config", str(site_file), "--facts", str(facts), "--skip", "host.reachable",
               "--markdown", str(tmp_path / "s.md"))
    assert proc.returncode == 3, proc.stdout
    causes = [line for line in proc.stdout.splitlines() if "checks not evaluated" in line]
    assert len(causes) == 2 and all("refused the connection on port 5985" in line for line in causes)
    assert sum("| error |" in line for line in (tmp_path / "s.md").read_text().splitlines()) == 2


# ---- 5. warnings in the terminal; one definition of blocking --------------------------------------------------

def test_warnings_are_listed_and_every_output_counts_the_same_blocking(site_file: Path, tmp_path: Path) -> None:
    hosts = builders.hosts()
    fs01 = hosts["fs01.contoso.com"]
    hosts["fs01.contoso.com"] = fs01.model_copy(update={
        "paths": [fs01.paths[0].model_copy(update={"free_bytes": 1})], "hyperv_installed": True})
    facts = facts_file(tmp_path, hosts=hosts)
    for fail_on, blocking in (("fail", 1), ("warn", 2)):
        args, paths = outputs(tmp_path, fail_on)
        proc = run("preflight", "--config", str(site_file), "--facts", str(facts), "--fail-on", fail_on, *args)
        assert proc.returncode == 1
        assert "WARN  path.free-space" in proc.stdout  # listed, not only counted
        if fail_on == "fail":
            assert "Warnings (1, not blocking under --fail-on fail):" in proc.stdout
            assert proc.stdout.index("FAIL  path.not-on-hyperv-host") < proc.stdout.index("WARN  path.free-space")
        assert f"; {blocking} blocking" in proc.stdout
        assert f"What blocks ({blocking})" in paths["html"].read_text()
        assert f"### Blocking ({blocking})" in paths["markdown"].read_text()
        suite = ET.parse(paths["junit"]).getroot()
        assert int(suite.get("failures") or 0) + int(suite.get("errors") or 0) == blocking


# ---- 7. report prints and exits as preflight; collect exits 3 --------------------------------------------------

def test_report_prints_the_same_summary_and_exits_by_the_same_rules(site_file: Path, tmp_path: Path) -> None:
    hosts = builders.hosts()
    fs01 = hosts["fs01.contoso.com"]
    hosts["fs01.contoso.com"] = fs01.model_copy(update={"paths": [fs01.paths[0].model_copy(update={"free_bytes": 1})]})
    facts = facts_file(tmp_path, hosts=hosts)
    results = tmp_path / "r.json"
    first = run("preflight", "--config", str(site_file), "--facts", str(facts), "--json", str(results))
    assert first.returncode == 0  # a warning alone is ready
    again = run("report", str(results))  # no output file needed: it prints the summary
    assert again.returncode == 0
    verdict = first.stdout.strip().splitlines()[-1]
    assert verdict.startswith("READY: ") and again.stdout.strip().splitlines()[-1] == verdict
    assert "WARN  path.free-space" in again.stdout
    assert run("report", str(results), "--fail-on", "warn").returncode == 1
    assert run("report", str(results), "--fail-on", "warn", "--exit-zero").returncode == 0

    broken = builders.hosts()
    broken["fs11.contoso.com"] = broken["fs11.contoso.com"].model_copy(update={
        "error": CollectionError(kind=ErrorKind.GARBAGE, message="fs11 sent output that is not JSON"), "paths": []})
    results_3 = tmp_path / "r3.json"
    assert run("preflight", "--config", str(site_file), "--facts", str(facts_file(tmp_path, "f3.json", hosts=broken)),
               "--json", str(results_3)).returncode == 3
    assert run("report", str(results_3)).returncode == 3
    assert run("report", str(results_3), "--fail-on", "error").returncode == 1
    warn_run = tmp_path / "rw.json"
    assert run("preflight", "--config", str(site_file), "--facts", str(facts), "--fail-on", "warn", "--json",
               str(warn_run)).returncode == 1
    assert run("report", str(warn_run)).returncode == 1  # judged by the --fail-on the run used
    assert run("report", str(warn_run), "--fail-on", "fail").returncode == 0


def test_collect_exits_3_when_the_directory_could_not_be_read(site_file: Path, tmp_path: Path) -> None:
    site_file.write_text(site_file.read_text().replace("ldaps://dc1.contoso.com", "ldaps://127.0.0.1:1"))
    proc = run("collect", "--config", str(site_file), "--only", "ad.*", "--output", str(tmp_path / "f.json"),
               env={"OFFLINEPREP_LDAP_PASSWORD": "x-secret-x"})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "refused the connection on port 1" in proc.stderr
    saved = json.loads((tmp_path / "f.json").read_text())
    (directory,) = saved["directories"].values()  # facts/v2: one directory per domain (the domain was not read)
    assert directory["error"]["kind"] == "unreachable"


# ---- 8. keep the facts of a real run ----------------------------------------------------------------------------

def test_save_facts_round_trip_gives_the_same_findings(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    first = run("preflight", "--demo", "--save-facts", str(facts), "--json", str(tmp_path / "a.json"))
    assert first.returncode == 1 and f"facts written to {facts}" in first.stdout
    again = run("preflight", "--demo", "--facts", str(facts), "--json", str(tmp_path / "b.json"))
    assert again.returncode == 1

    def findings(path: Path) -> list[dict[str, object]]:
        return json.loads(path.read_text())["findings"]  # type: ignore[no-any-return]

    assert findings(tmp_path / "a.json") == findings(tmp_path / "b.json")
    assert "lab-winrm-password" not in facts.read_text()
    assert run("preflight", "--demo", "--facts", str(facts), "--save-facts", str(tmp_path / "x.json")).returncode == 2


def test_a_facts_file_without_a_host_or_directory_the_site_names_is_an_error_not_a_gap(site_file: Path,
                                                                                      tmp_path: Path) -> None:
    hosts = builders.hosts()
    del hosts["hv11.contoso.com"]
    facts = facts_file(tmp_path, hosts=hosts, directory=None)
    proc = run("preflight", "--config", str(site_file), "--facts", str(facts), "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 3, proc.stdout
    findings = json.loads((tmp_path / "r.json").read_text())["findings"]
    # (replica.* skip under Site Recovery whatever the facts hold: they do not apply)
    hv11 = [f for f in findings if f["subject"] == "hv11.contoso.com" and not f["check"].startswith(("ad.", "replica."))]
    assert any(f["check"] == "facts" for f in hv11)  # host.reachable only walks the hosts the facts hold
    assert all(f["status"] == "error" and "hv11.contoso.com is not in the facts file" in f["message"] for f in hv11)
    ad = [f for f in findings if f["check"].startswith("ad.")]
    assert ad and all("Active Directory is not in the facts file" in f["message"] for f in ad)
    assert "hv11.contoso.com is not in the facts file" in proc.stdout and "checks not evaluated" in proc.stdout


# ---- 9. did you mean -------------------------------------------------------------------------------------------

def test_a_mistyped_check_id_or_glob_gets_a_suggestion(site_file: Path, healthy_facts: Path) -> None:
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--only", "ad.delegaton")
    assert proc.returncode == 2 and "(did you mean 'ad.delegation'?)" in proc.stderr, proc.stderr
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--only", "pth.*")
    assert proc.returncode == 2 and "(did you mean 'path.*'?)" in proc.stderr, proc.stderr
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--skip", "policy.setings")
    assert proc.returncode == 0 and "(did you mean 'policy.settings'?)" in proc.stderr, proc.stderr


def test_a_waiver_for_a_mistyped_check_id_says_so(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\ncheck = "path.fre-space"\nsubject = "*"\njustification = "staging volume"\n'
                       "expires = 2099-01-31\n")
    proc = run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--waivers", str(waivers))
    assert proc.returncode == 0
    assert "no check has that id (did you mean 'path.free-space'?)" in proc.stderr, proc.stderr


# ---- 6. why, where to read more, no internal words -------------------------------------------------------------

def test_every_check_explains_why_and_links_microsoft_documentation() -> None:
    proc = run("checks", "--json")
    checks = json.loads(proc.stdout)["checks"]
    for c in checks:
        assert len(c["why"]) > 120 and c["why"].endswith("."), c["id"]
        assert c["walkthrough_step"], c["id"]
        assert c["docs"] and all(d["url"].startswith(("https://learn.microsoft.com/", "https://github.com/MicrosoftDocs/"))
                                 for d in c["docs"]), c["id"]
    assert "seed_step" not in proc.stdout and "SPEC" not in proc.stdout


def test_no_internal_words_reach_an_output(site_file: Path, tmp_path: Path) -> None:
    args, paths = outputs(tmp_path)
    run("preflight", "--demo", *args, "--fix-script", str(tmp_path / "fix.ps1"))
    texts = {name: p.read_text() for name, p in paths.items()} | {"fix": (tmp_path / "fix.ps1").read_text()}
    texts["help"] = run("preflight", "--help").stdout + run("--help").stdout
    for name, text in texts.items():
        assert not re.search(r"\bSPEC\b|seed_step|§", text), name


# ---- 13. --help --------------------------------------------------------------------------------------------------

def test_help_shows_flags_as_flags_help_for_every_option_and_named_arguments() -> None:
    for command, usage in (("preflight", "Usage: offlineprep preflight (--config SITE.toml | --demo) [OPTIONS]"),
                           ("collect", "Usage: offlineprep collect --config SITE.toml --output FACTS.json [OPTIONS]"),
                           ("report", "Usage: offlineprep report RESULTS.json [OPTIONS]"),
                           ("checks", "Usage: offlineprep checks [ID|GLOB...] [OPTIONS]"),
                           ("init", "Usage: offlineprep init [SITE.toml | -] [OPTIONS]")):
        text = run(command, "--help").stdout
        assert text.startswith(usage), text
        assert "<bool>" not in text and "list[" not in text and "{" not in text, text
        options = text[text.index("Options:"):]
        # each option line: the flag, then two spaces or more and its help (a long one wraps below)
        entries = re.findall(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", options, re.M)
        assert entries
        for flag, help_text in entries:
            assert help_text or "<" in flag or flag.endswith(("TOML", "json", "never")), (command, flag)
        assert "  --demo  " in text if command == "preflight" else True


def test_init_dash_writes_the_example_to_stdout(tmp_path: Path) -> None:
    proc = run("init", "-", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("# offlineprep site file")
    assert not (tmp_path / "-").exists() and not (tmp_path / "site.toml").exists()
    (tmp_path / "s.toml").write_text(proc.stdout)
    assert run("preflight", "--config", str(tmp_path / "s.toml"), "--only", "policy.settings").returncode == 0


def _directory_error() -> DirectoryFacts:  # used by the unit tests of the terminal summary below
    return DirectoryFacts(server="ldaps://dc1.contoso.com",
                          error=CollectionError(kind=ErrorKind.UNREACHABLE, message="dc1.contoso.com does not resolve"))


# ---- 10. the README, for the people who run it -------------------------------------------------------------------

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_starts_with_the_demo_and_the_test_suite() -> None:
    text = README.read_text()
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, re.S)
    assert [b[1].strip() for b in blocks[:2]] == ["bash scripts/demo.sh --html demo-report.html", "bash scripts/test.sh"]


def test_the_readme_waivers_example_loads_and_matches(tmp_path: Path) -> None:
    from datetime import date

    from offlineprep.model import Finding, Status
    from offlineprep.waivers import apply_waivers, load_waivers

    section = README.read_text().split("### Waivers", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S)
    assert example is not None
    (tmp_path / "waivers.toml").write_text(example.group(1))
    waivers = load_waivers(tmp_path / "waivers.toml")
    assert [w.check for w in waivers] == ["path.free-space", "ad.delegation"]
    low = Finding(check="path.free-space", status=Status.WARN, severity="medium", subject="\\\\fs11.contoso.com\\ASRImport",
                  message="short of space")
    findings, report = apply_waivers([low], waivers, date(2026, 12, 1))
    assert findings[0].waived and len(report.unused) == 1


def test_the_readme_says_where_to_run_what_it_connects_to_and_how_to_set_up_kerberos() -> None:
    text = README.read_text()
    for needle in ("Linux admin machine or WSL", "**636**", "**389** with StartTLS", "**5986**", "**5985**",
                   "/etc/krb5.conf", "kinit svc-preflight@CONTOSO.COM", "KRB5_CLIENT_KTNAME",
                   "$env:OFFLINEPREP_LDAP_PASSWORD", "export OFFLINEPREP_LDAP_PASSWORD", "### Rights, up front",
                   "### The fix script: its sections and who runs them", f"partial: 1 of {KNOWN} checks"):
        assert needle in text, needle


def test_under_fail_on_never_failures_are_listed_as_not_blocking(site_file: Path, tmp_path: Path) -> None:
    hosts = builders.hosts()
    hosts["fs01.contoso.com"] = hosts["fs01.contoso.com"].model_copy(update={"hyperv_installed": True})
    args, paths = outputs(tmp_path)
    proc = run("preflight", "--config", str(site_file), "--facts", str(facts_file(tmp_path, hosts=hosts)),
               "--fail-on", "never", *args)
    assert proc.returncode == 0
    assert "Failures (1, not blocking under --fail-on never):" in proc.stdout
    assert "FAIL  path.not-on-hyperv-host" in proc.stdout and "; 0 blocking" in proc.stdout
    assert "What blocks (0)" in paths["html"].read_text() and "Not blocking (1)" in paths["html"].read_text()
    assert "### Not blocking (1)" in paths["markdown"].read_text()
    assert ET.parse(paths["junit"]).getroot().get("failures") == "0"


def test_the_readme_vmm_and_several_domains_example_is_a_site_file() -> None:
    """The README's example naming the VMM and two domains loads as it is written."""
    from offlineprep.sitefile import parse_site

    section = README.read_text().split("With VMM, name the VMM server instead of the hosts", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S)
    assert example is not None
    site = parse_site(example.group(1), "README.md")
    assert site.vmm is not None and site.vmm.server == "vmm01.contoso.com" and site.vmm.run_as == ["Host Admins"]
    assert [d.domain for d in site.directories] == ["contoso.com", "fabrikam.com"]
    assert site.source.hosts == [] and site.import_path is not None and site.import_path.server == "fs11.fabrikam.com"
