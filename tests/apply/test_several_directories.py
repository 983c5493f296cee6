"""apply with one [[directory]] per domain (docs/apply.md, "Several domains"): each AD step goes to the
directory whose server is the domain controller the plan bound it to; a step bound to a DC the site
file no longer lists is not sent; passwords are asked only for the directories the steps use.

The connection is the narrow seam here (Connections.directory_connect): it records which directory
was asked for and refuses, so every step says where it would have gone without a DC. The LDAP writes
themselves are proven against Samba in tests/integration/test_apply_samba.py."""

from __future__ import annotations

from datetime import UTC, datetime

from builders import site

from offlineprep.actions import types as t
from offlineprep.apply import runner
from offlineprep.apply.model import How, Outcome, Record, Step, StepRecord
from offlineprep.model import ToolInfo
from offlineprep.site import DirectoryConfig

TWO = site(directory=[
    {"domain": "contoso.com", "server": "ldaps://dc1.contoso.com", "user": "u@contoso.com",
     "password_env": "CONTOSO_PW", "apply_user": "admin@contoso.com", "apply_password_env": "CONTOSO_APPLY_PW"},
    {"domain": "fabrikam.com", "server": "ldaps://dc7.fabrikam.com", "user": "u@fabrikam.com",
     "password_env": "FABRIKAM_PW"}])


def ad_step(number: int, computer: str, dc: str) -> Step:
    action = t.AddDelegationValues(computer=computer, values=[f"cifs/{computer.lower()}.x"]).bound_to_directory(dc)
    return Step(number=number, how=How.DIRECTORY, action=action)


def test_each_ad_step_goes_to_the_directory_of_the_dc_it_was_bound_to() -> None:
    steps = [ad_step(1, "HV01", "dc1.contoso.com"), ad_step(2, "HV21", "DC7.fabrikam.com."),
             ad_step(3, "HV02", "dc1.contoso.com"), ad_step(4, "HV31", "dc9.gone.example")]
    assert [getattr(runner.directory_of(TWO, s.action), "domain", None) for s in steps] == [
        "contoso.com", "fabrikam.com", "contoso.com", None]
    # -Server takes a domain name too: an owner naming its domain goes to that domain's directory
    assert getattr(runner.directory_of(TWO, ad_step(5, "HV41", "FABRIKAM.com").action), "domain", None) == "fabrikam.com"
    asked: list[tuple[str, str | None]] = []

    def refuse(config: DirectoryConfig, password: str | None) -> None:
        asked.append((config.server, config.user))
        raise ConnectionRefusedError(111, "Connection refused")

    record = Record(tool=ToolInfo(version="test"), mode="apply", started_at=datetime(2026, 11, 29, tzinfo=UTC),
                    steps=[StepRecord(number=s.number, how=s.how, action=s.action, outcome=Outcome.NOT_RUN,
                                      message="apply stopped before this step") for s in steps])
    writer = runner.RecordWriter(record, None)
    runner._directory(writer, [0, 1, 2, 3], TWO, runner.Connections(directory_connect=refuse),
                      lambda env, purpose: "pw", None, None)
    # one connection per directory, as its account for changes (contoso) or its reading account (fabrikam)
    assert asked == [("ldaps://dc1.contoso.com", "admin@contoso.com"), ("ldaps://dc7.fabrikam.com", "u@fabrikam.com")]
    assert all(s.outcome is Outcome.NOT_RUN for s in record.steps)
    assert "dc9.gone.example is the server of no [[directory]]" in record.steps[3].message
    assert all(s.message.startswith("not sent: ") for s in record.steps)


def test_passwords_are_asked_only_for_the_directories_the_steps_use() -> None:
    fabrikam_only = [ad_step(1, "HV21", "dc7.fabrikam.com")]
    wanted = runner.secrets_for_changes(TWO, fabrikam_only)
    assert [w.env for w in wanted] == ["FABRIKAM_PW"]
    both = [*fabrikam_only, ad_step(2, "HV01", "dc1.contoso.com")]
    assert [w.env for w in runner.secrets_for_changes(TWO, both)] == [
        "CONTOSO_APPLY_PW", "FABRIKAM_PW"]  # in the site file's order


def test_one_directory_takes_every_ad_step_as_before() -> None:
    one = site()
    step = ad_step(1, "HV01", "another-dc.contoso.com")  # bound to another DC of the same (only) domain
    assert runner.directory_of(one, step.action) is one.primary_directory
    assert runner.directories_used(one, [step]) == [one.primary_directory]


def test_resource_based_delegation_across_domains_is_left_by_hand_saying_why() -> None:
    """The hosts it allows are in another domain: apply would read their SIDs where it writes."""
    from offlineprep.apply.planner import how

    action = t.AllowDelegationFrom(computer="FS11", computer_domain="fabrikam.com", principals=["HV01"],
                                   before=[]).bound_to_directory("dc1.contoso.com")
    way, reason = how(action)
    assert way is How.BY_HAND and reason is not None
    assert "FS11's account is in fabrikam.com" in reason and "only within one domain" in reason
    assert "fix script's AD step" in reason
