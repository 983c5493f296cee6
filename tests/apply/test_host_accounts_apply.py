"""path.host-accounts through the whole loop, against the demo lab under plain Hyper-V Replica: the
routes read each host's computer account (tokenGroups) from the lab directory, the check finds each
host's account short on the path it uses, apply grants it through the simulated SMB and NTFS
cmdlets, the re-check passes, and revert gives every descriptor back."""

from __future__ import annotations

from apply_lab import Lab
from test_prerequisite_actions import with_site

from offlineprep.apply.model import Outcome
from offlineprep.model import Status


def test_hosts_computer_accounts_are_granted_read_and_write_and_revert_takes_it_back(lab: Lab) -> None:
    with_site(lab, policy={"manager": "hyperv-replica"})
    before = lab.descriptors()
    plan = lab.plan()
    host_steps = [s for s in plan.steps if any(f.check == "path.host-accounts" for f in plan.findings_of(s))]
    accounts = sorted({s.action.account for s in host_steps})  # type: ignore[attr-defined]
    assert accounts == ["LAB\\HV01$", "LAB\\HV02$", "LAB\\HV11$", "LAB\\HVC1-N1$", "LAB\\HVC1-N2$"]
    assert {s.action.kind for s in host_steps} == {"host.ntfs-rights", "host.share-rights"}
    assert all(s.action.account_sid for s in host_steps)  # type: ignore[attr-defined]

    record = lab.apply(plan)
    assert {r.outcome for r in record.steps if r.number in {s.number for s in host_steps}} == {Outcome.APPLIED}
    assert record.verification is not None
    checked = [v for v in record.verification.findings if v.finding.check == "path.host-accounts"]
    assert len(checked) == 5 and {v.status for v in checked} == {Status.PASS}, [v.finding.message for v in checked]

    lab.revert(record)
    assert lab.descriptors() == before
