"""Report hardening: topology relations and links, ordering, Markdown limits, fix-script order and re-runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from browser import open_page

from offlineprep.model import Finding, Phase, Remediation, Results, Status, ToolInfo, Topology
from offlineprep.pipeline import summarise, verdict_of
from offlineprep.remediation import add_delegation, add_local_group_member, grant_share
from offlineprep.render import fixscript, html, markdown, viewmodel

EXPORT = r"\\fs01.c.com\Exp"
IMPORT = r"\\fs11.c.com\Imp"
TOPO = Topology(source_hosts=["hv01.c.com", "hv02.c.com"], export_path=EXPORT, import_path=IMPORT,
                target_hosts=["hv11.c.com"])


def F(check: str, status: str, subject: str, message: str = "m", **kw: Any) -> Finding:
    return Finding(check=check, status=Status(status), severity=kw.pop("severity", "high"), subject=subject,
                   message=message, **kw)


def results(findings: list[Finding], topology: Topology = TOPO) -> Results:
    return Results(tool=ToolInfo(version="t"), generated_at=datetime(2026, 1, 2, tzinfo=UTC),
                   verdict=verdict_of(findings), summary=summarise(findings), findings=findings, topology=topology)


def anchor_of(view: viewmodel.ReportView, finding: Finding) -> str:
    shown = [fv for groups in view.sections.values() for g in groups for fv in g.shown]
    shown += [fv for c in view.causes for fv in c.findings]
    return next(fv.anchor for fv in shown if fv.finding is finding)


# ---- topology -------------------------------------------------------------------------------------------------

def test_path_node_is_coloured_by_its_own_findings_and_links_to_the_worst() -> None:
    """A host's delegation to fs11 is the host's setting: it colours the host, not the import path."""
    delegation = F("ad.delegation", "fail", "hv01.c.com", target="fs11.c.com", severity="critical")
    down = F("host.reachable", "error", "fs11.c.com", "refused")
    low = F("path.free-space", "warn", IMPORT, "low")
    ok = F("path.exists", "pass", IMPORT)
    view = viewmodel.build(results([ok, low, delegation, down]))
    nodes = {n.id: n for n in view.topology.nodes}
    assert nodes["import"].status == "error"
    assert nodes["src-0"].status == "fail"
    assert nodes["import"].link == anchor_of(view, down)  # the worst, not the first pass of the path
    assert nodes["src-0"].link == anchor_of(view, delegation)
    assert nodes["export"].status == "none" and nodes["export"].link == ""


def test_node_links_to_its_worst_finding_not_the_first_group_that_names_it() -> None:
    early_pass = F("ad.delegation", "pass", "hv11.c.com", target="fs11.c.com", severity="critical")
    fail_elsewhere = F("ad.delegation", "fail", "hv01.c.com", target="fs11.c.com", severity="critical")
    late_warn = F("policy.replication-port", "warn", "hv11.c.com", severity="medium")
    view = viewmodel.build(results([early_pass, fail_elsewhere, late_warn]))
    target = next(n for n in view.topology.nodes if n.id == "tgt-0")
    assert target.status == "warn" and target.link == anchor_of(view, late_warn)


def test_collapsed_host_column_links_to_its_worst_finding() -> None:
    hosts = [f"hv{i:02}.c.com" for i in range(20)]
    findings = [F("ad.host-account", "pass", h) for h in hosts] + [F("ad.host-account", "fail", "hv07.c.com")]
    view = viewmodel.build(results(findings, Topology(source_hosts=hosts, export_path=EXPORT)))
    node = next(n for n in view.topology.nodes if n.id == "src-all")
    assert node.status == "fail" and node.link == anchor_of(view, findings[-1])


def test_node_without_findings_says_so_in_text_and_long_labels_stay_in_their_box(tmp_path: Path) -> None:
    long = "\\\\fs01.c.com\\" + "A" * 300
    page = html.render(results([F("path.exists", "fail", long)],
                               Topology(source_hosts=["hv01.c.com"], export_path=long, import_path=None)))
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "NO FINDINGS" in svg  # status in text, not by the dashed grey box alone
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert max(len(t) for t in labels) <= 24
    assert 'href="#f1"' in svg  # the long path node leads to its finding


# ---- ordering -------------------------------------------------------------------------------------------------

def test_groups_most_severe_first_waived_findings_do_not_lead() -> None:
    waived = F("ad.account-delegable", "fail", "C\\svc", waived=True,
               waiver={"check": "ad.*", "subject": "*", "justification": "j", "expires": "2030-01-01"})
    high = F("path.share-full-control", "fail", EXPORT, account="C\\vmm")
    critical = F("ad.delegation", "fail", "hv01.c.com", target="fs01.c.com", severity="critical")
    error = F("host.reachable", "error", "fs11.c.com")
    warn = F("path.free-space", "warn", IMPORT, severity="medium")
    view = viewmodel.build(results([warn, error, waived, high, critical]))
    order = [g.check for name in ("blocking", "warnings", "waived") for g in view.sections[name]]
    assert order == ["ad.delegation", "path.share-full-control", "host.reachable", "path.free-space",
                     "ad.account-delegable"]
    assert view.blocking_count == 3 and [g.check for g in view.sections["waived"]] == ["ad.account-delegable"]


# ---- browser: filters ------------------------------------------------------------------------------------------

@pytest.mark.browser
def test_host_filter_from_the_fragment(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    html.write(results([F("ad.host-account", "fail", "hv01.c.com"), F("ad.host-account", "fail", "hv02.c.com"),
                        F("ad.delegation", "fail", "hv02.c.com", target="fs01.c.com")]), path)
    page = open_page(path, "#subject=hv02")
    shown = re.findall(r'<article class="finding" id="f\d+" data-status="\w+" data-check="[^"]+" data-who="([^"]+)"',
                       page.dom)
    assert sorted(shown) == ["hv02.c.com", "hv02.c.com → fs01.c.com"]
    assert page.console == []


# ---- markdown ---------------------------------------------------------------------------------------------------

def test_markdown_blocking_fail_before_error_and_no_bidi() -> None:
    text = markdown.render(results([F("ad.delegation", "error", "hv01.c.com"),
                                    F("path.exists", "fail", "x\u202eexe.txt"),
                                    F("host.reachable", "error", "fs01.c.com"),
                                    F("policy.settings", "fail", "Gold")]))
    rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| fail") or line.startswith("| error")]
    assert rows == ["| fail", "| fail", "| error", "| error"]
    assert "\u202e" not in text


def test_markdown_survives_a_lone_surrogate_in_a_failing_findings_message(tmp_path: Path) -> None:
    """A host can hand back an unpaired UTF-16 surrogate (a broken name); measuring the row with
    row.encode("utf-8") raised UnicodeEncodeError and cost the whole Markdown file."""
    finding = F("path.exists", "fail", r"\\fs01.c.com\Exp", "the folder D:\\Exp\ud800x does not exist")
    text = markdown.render(results([finding]))
    assert "Exp\ud800x does not exist" in text  # the row is there
    markdown.write(results([finding]), tmp_path / "summary.md")
    written = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "Exp\ufffdx does not exist" in written and "### Blocking (1)" in written


def test_markdown_fits_a_job_summary_for_two_thousand_failing_hosts() -> None:
    findings = [F("ad.delegation", "fail", f"hv{i:04}.c.com", "no delegation " + "x" * 20_000, target="fs01.c.com")
                for i in range(2000)]
    text = markdown.render(results(findings))
    assert len(text.encode("utf-8")) < 1024 * 1024
    assert "1,800 more" in text or "1800 more" in text


# ---- fix script -------------------------------------------------------------------------------------------------

def fix(finding: Finding) -> str:
    return fixscript.render(results([finding]))


def test_fix_script_reminders_come_after_shares_ntfs_and_local_groups() -> None:
    a = F("ad.delegation", "fail", "hv01.c.com", target="fs01.c.com",
          remediation=add_delegation("HV01", ["cifs/fs01.c.com"], True, "hv01.c.com"))
    b = F("ad.delegation", "fail", "hv02.c.com", target="fs01.c.com",
          remediation=add_delegation("HV02", ["cifs/fs01.c.com"], False, "hv02.c.com"))
    share = F("path.share-full-control", "fail", EXPORT, account="C\\vmm",
              remediation=grant_share("fs01.c.com", "Exp", "C\\vmm", "Full"))
    group = F("path.share-host-group", "fail", EXPORT, account="C\\vmm",
              remediation=add_local_group_member("fs01.c.com", "S-1-5-32-544", "Administrators", "C\\vmm"))
    script = fixscript.render(results([group, share, b, a]))
    forward = script[:script.index("\nelse {")]
    assert forward.count("repadmin /syncall") == 1
    positions = [forward.index(s) for s in ("Set-ADComputer", "Grant-SmbShareAccess", '.Add("WinNT://',
                                            "repadmin /syncall", "klist purge")]
    assert positions == sorted(positions)
    assert forward.count("klist purge") == 2 and "'hv01.c.com'" in forward[positions[3]:]


def test_fix_script_delegation_add_and_remove_can_run_twice() -> None:
    """AD refuses -Add of a value already there and -Remove of one that is not: a second run must not stop."""
    script = fix(F("ad.delegation", "fail", "hv01.c.com", target="fs01.c.com",
                   remediation=add_delegation("O'Brien", ["cifs/fs01.c.com", "cifs/FS01"], False, "hv01.c.com")))
    assert "-Add @{'msDS-AllowedToDelegateTo' = @('cifs/fs01.c.com', 'cifs/FS01')}" not in script
    assert "-notcontains" in script and "-contains" in script
    assert "'O''Brien'" in script
    assert "$PSCmdlet.ShouldProcess" in script


def test_fix_script_revert_blocks_continue_past_one_that_fails() -> None:
    script = fix(F("path.share-host-group", "fail", EXPORT, account="C\\vmm",
                   remediation=add_local_group_member("fs01.c.com", "S-1-5-32-544", "Administrators", "C\\vmm")))
    revert = script[script.index("\nelse {"):]
    assert "try {" in revert and "Write-Warning" in revert


def test_fix_script_splits_lines_only_where_powershell_does() -> None:
    """U+2028, U+0085 and friends are no line ends to PowerShell: the script must not make them one."""
    evil = F("path.exists", "fail", EXPORT, remediation=Remediation(
        summary="s", powershell="# on fs\u2028Remove-Item C:\\ -Recurse\n# next\x85Stop-Computer", phase=Phase.SHARE))
    lines = fix(evil).splitlines()  # Python's splitlines is the generous reading
    assert not any(line.lstrip().startswith(("Remove-Item", "Stop-Computer")) for line in lines)
    assert all(ch not in fix(evil) for ch in "\u2028\x85")


def test_markdown_stays_under_the_limit_when_escaping_grows_every_cell() -> None:
    findings = [F("ad.delegation", "fail", "<" * 5000, "<|`" * 5000, target="<" * 5000) for _ in range(400)]
    findings += [F("path.free-space", "warn", "<" * 5000, "<" * 20_000) for _ in range(400)]
    text = markdown.render(results(findings))
    assert len(text.encode("utf-8")) < 1024 * 1024
    assert "more | see the HTML or JSON report" in text


def test_each_fix_says_where_it_runs_and_as_whom_from_its_actions(tmp_path: Path) -> None:
    """One source of truth: the line under a fix comes from its actions' owner and rights, in the
    words the fix script's section headers use; a fix without actions says nothing is known."""
    from offlineprep.remediation import bind_directory, winrm_listener

    delegation = bind_directory(add_delegation("HV01", ["cifs/fs01.c.com"], True, "hv01.c.com"), "dc1.c.com")
    listener = winrm_listener("hv02.c.com", "HV02", "https", 5986, hyperv=True, before="unreachable")
    share = grant_share("fs01.c.com", "Exp", "C\\vmm", "Full")
    text_only = Remediation(summary="pack fix", powershell="Set-Thing", phase=Phase.HOST)
    findings = [F("ad.delegation", "fail", "hv01.c.com", target="fs01.c.com", remediation=delegation),
                F("host.reachable", "fail", "hv02.c.com", remediation=listener),
                F("path.share-full-control", "fail", EXPORT, remediation=share),
                F("pack.rule", "fail", "x", remediation=text_only)]
    view = viewmodel.build(results(findings))
    runs = {fv.finding.check: fv.runs for groups in view.sections.values() for g in groups for fv in g.shown}
    assert runs["ad.delegation"] == (
        "Runs on: any machine with the ActiveDirectory module (RSAT-AD-PowerShell); every change is sent to dc1.c.com "
        "(-Server), the site's [directory] server. Runs as: a Domain Admin, or an account that holds the right 'Enable "
        "computer and user accounts to be trusted for delegation' (SeEnableDelegationPrivilege) on the domain "
        "controllers and may write the computer object. Runs on: hv01.c.com, through Invoke-Command (WinRM) from the "
        "machine running the fix script. Runs as: Administrators on the host; repadmin needs Domain Admins.")
    assert runs["host.reachable"].startswith("Runs on: hv02.c.com itself, signed in there (WinRM cannot reach it")
    assert runs["host.reachable"].endswith(" Runs as: Administrators on the machine, in an elevated Windows PowerShell "
                                           "on the machine itself.")
    assert runs["path.share-full-control"] == ("Runs on: fs01.c.com, through Invoke-Command (WinRM) from the machine "
                                               "running the fix script. Runs as: Administrators on the file server.")
    assert runs["pack.rule"].startswith("offlineprep cannot tell where this fix runs")
    # the fix script's headers say the same words
    script = fixscript.render(results(findings))
    for where in (delegation.actions[0].runs_on(), share.actions[0].runs_on(), listener.actions[0].runs_on()):
        assert f"# Runs on: {where}" in script, where
    page = tmp_path / "r.html"
    html.write(results(findings), page)
    assert '<p class="runs">Runs on: hv02.c.com itself, signed in there' in page.read_text()
    for action in (*delegation.actions, *share.actions, *listener.actions):  # the script's "Runs as" lines too
        assert action.rights in script or action.kind == "host.kerberos-refresh"  # hv01 has nothing but its purge
