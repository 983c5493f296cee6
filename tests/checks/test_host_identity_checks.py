"""Issue 19 item 7: host identity and readiness as Windows says it. InstallPending is a role waiting for
its restart ("restart needed", fixed by the restart, not by a second install); a missing Hyper-V
PowerShell module is named as the cause."""

from __future__ import annotations

from builders import facts, hosts, run

from offlineprep.model import Finding, Status


def changed(name: str, **update: object) -> dict:  # type: ignore[type-arg]
    h = hosts()
    h[name] = h[name].model_copy(update=update)
    return h


def one(found: list[Finding], subject: str) -> Finding:
    return next(f for f in found if f.subject == subject)


def test_install_pending_is_restart_needed_with_a_restart_as_the_fix() -> None:
    """Before: "the Hyper-V role is not installed" and Install-WindowsFeature again."""
    found = one(run("host.hyperv-ready", the_facts=facts(host_facts=changed(
        "hv02", hyperv_installed=False, hyperv_install_state="InstallPending", vmms_running=None,
        vmms_status=None))), "hv02")
    assert found.status is Status.FAIL
    assert "restart needed" in found.message and "not installed" not in found.message
    assert found.remediation is not None and [a.kind for a in found.remediation.actions] == ["manual"]
    assert "Restart-Computer" in found.remediation.powershell
    assert "Install-WindowsFeature" not in found.remediation.powershell


def test_a_missing_hyperv_module_is_named_as_the_cause() -> None:
    found = one(run("host.hyperv-ready", the_facts=facts(host_facts=changed(
        "hv11.contoso.com", hyperv_module=False))), "hv11.contoso.com")
    assert found.status is Status.FAIL and "Hyper-V PowerShell module is not installed" in found.message
    assert found.remediation is not None and "Hyper-V-PowerShell" in found.remediation.powershell


def test_a_module_not_read_is_no_failure() -> None:
    # an older facts file (hyperv_module None) judges as before
    found = one(run("host.hyperv-ready", the_facts=facts(host_facts=changed("hv11.contoso.com", hyperv_module=None))),
                "hv11.contoso.com")
    assert found.status is Status.PASS
