"""Actions are data: a stable id from their content, the state before and after, JSON round trips,
and the site's domain controller bound by the pipeline rather than passed around by the checks."""

from __future__ import annotations

import json

import builders
from action_samples import every_action
from pydantic import TypeAdapter

from offlineprep import remediation as r
from offlineprep.actions import types as t
from offlineprep.model import Finding, Results, Status
from offlineprep.pipeline import RunOptions, build_results
from offlineprep.render import fixscript, json_out


def test_the_id_is_derived_from_the_content_and_survives_json() -> None:
    a = r.ntfs_grant("fs01", "D:\\Exp", "C\\svc", 0x1F01FF, "Full Control")
    b = r.ntfs_grant("fs01", "D:\\Exp", "C\\svc", 0x1F01FF, "Full Control")
    c = r.ntfs_grant("fs01", "D:\\Imp", "C\\svc", 0x1F01FF, "Full Control")
    assert a.id == b.id != c.id and a.id.startswith("host.ntfs-rights:")
    adapter: TypeAdapter[t.Action] = TypeAdapter(t.Action)
    for action in every_action("x"):
        again = adapter.validate_json(action.model_dump_json())
        assert again == action and again.id == action.id
        forged = json.loads(action.model_dump_json()) | {"id": "chosen"}
        assert adapter.validate_python(forged).id == action.id  # never taken from the input


def test_binding_the_domain_controller_changes_only_directory_owners() -> None:
    fix = r.add_delegation("HV01", ["cifs/fs01"], True, "hv01.c.com")
    bound = r.bind_directory(fix, "dc1.c.com")
    owners = [a.owner for a in bound.actions]
    assert owners[:2] == [t.Owner(kind="directory", name="dc1.c.com")] * 2
    assert owners[2] == t.hyperv_host("hv01.c.com")
    assert isinstance(bound.actions[2], t.RefreshTickets) and bound.actions[2].directory.name == "dc1.c.com"
    assert "-Server 'dc1.c.com'" in bound.powershell and "-Server" not in fix.powershell
    assert [a.id for a in bound.actions] != [a.id for a in fix.actions]  # where it runs is part of the content
    assert r.bind_directory(bound, "other-dc") == bound  # a DC once named stays
    share = r.grant_share("fs01", "Exp", "C\\svc", "Full")
    assert r.bind_directory(share, "dc1.c.com") is share


def test_the_pipeline_sends_every_ad_fix_to_the_sites_directory_server() -> None:
    d = builders.directory()
    d.computers["hv02"] = d.computers["hv02"].model_copy(update={"user_account_control": 0x1000})
    site = builders.site(directory={"server": "ldaps://dc7.contoso.com:636", "user": "u@contoso.com"})
    results = build_results(site, list(builders.CHECKS.values()), builders.facts(d), RunOptions())
    fixes = [f.remediation for f in results.findings if f.remediation is not None and f.check == "ad.delegation"]
    assert fixes and all(a.owner == t.Owner(kind="directory", name="dc7.contoso.com")
                         for fix in fixes for a in fix.actions if isinstance(a, t.SetProtocolTransition))
    assert all("-Server 'dc7.contoso.com'" in fix.powershell for fix in fixes)


def test_results_json_keeps_the_actions_and_the_fix_script_renders_the_same_from_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = builders.directory()
    d.computers["hv02"] = d.computers["hv02"].model_copy(update={"user_account_control": 0x1000})
    h = builders.hosts()
    fs01 = h["fs01.contoso.com"]
    path = fs01.paths[0].model_copy(update={"ntfs_sddl": "O:BAG:SYD:PAI(A;OICI;FA;;;BA)"})
    h["fs01.contoso.com"] = fs01.model_copy(update={"paths": [path]})
    results = build_results(builders.site(), list(builders.CHECKS.values()), builders.facts(d, h), RunOptions())
    kinds = {a.kind for f in results.findings if f.remediation for a in f.remediation.actions}
    assert {"ad.protocol-transition", "host.kerberos-refresh", "host.ntfs-rights"} <= kinds
    json_out.write(results, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    actions = [a for f in data["findings"] if "remediation" in f for a in f["remediation"]["actions"]]
    assert all({"kind", "id", "owner", "rights"} <= set(a) for a in actions)
    again = json_out.load(tmp_path / "r.json")
    assert fixscript.render(again) == fixscript.render(results)  # `report RESULTS.json --fix-script`


def test_a_fix_written_as_text_only_still_loads_and_renders() -> None:
    """A check pack older than actions writes Remediation(summary, powershell): the report shows it,
    the fix script prints it as comments and a warning (nothing says where it would run)."""
    legacy = Finding(check="x.custom", status=Status.FAIL, severity="high", subject="fs01", message="m",
                     remediation={"summary": "s", "powershell": "Set-Thing -Name 'x'"})  # type: ignore[arg-type]
    results = Results.model_validate({**builders_results(), "findings": [legacy.model_dump()]})
    script = fixscript.render(results)
    assert "    # Set-Thing -Name 'x'" in script and "\nSet-Thing" not in script.replace("    ", "")


def builders_results() -> dict[str, object]:
    return {"tool": {"version": "t"}, "generated_at": "2025-01-01T00:00:00Z", "verdict": "not-ready",
            "summary": {}, "findings": []}
