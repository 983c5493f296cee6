"""Issue 20, item 4: an account-control step flips only the bits its type owns, on the value read live.

Before, apply wrote the plan's `after_uac` verbatim (one LDAP modify: delete the value read, add the
file's value), so a plan whose SetProtocolTransition said `after_uac = before | 0x80000 | 0x400000`
turned on unconstrained delegation and "no Kerberos pre-authentication" (AS-REP roasting), and a
record's `before` put any value back on revert. Now the file cannot say it (the model refuses an
`after_uac` that is not `before_uac` with the type's bits flipped), and the writer never reads it:
it flips the owned bits of the value it reads (apply.states.uac_target / uac_restored). Bits:
Microsoft, userAccountControl (https://learn.microsoft.com/windows/win32/adschema/a-useraccountcontrol).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from offlineprep.actions import types as t
from offlineprep.apply.directory import Changer
from offlineprep.apply.model import Outcome, StepRecord
from offlineprep.demo import build_directory

WORKSTATION = 0x1000
TRUSTED_FOR_DELEGATION = 0x80000
DONT_REQ_PREAUTH = 0x400000
TRUSTED_TO_AUTH = 0x1000000
SERVER_TRUST_ACCOUNT = 0x2000


def _changer() -> tuple[Changer, Any]:
    directory, _ = build_directory()
    conn = directory.connect(directory.config(), directory.password)
    conn.read_only = False
    return Changer(conn, directory.base_dn, None), conn


def _uac(conn: Any, name: str) -> int:
    conn.search(_base(conn), f"(sAMAccountName={name}$)", attributes=["userAccountControl"])
    found = [e for e in conn.response if e.get("type") == "searchResEntry"]
    value = found[0]["attributes"]["userAccountControl"]
    return int(value[0] if isinstance(value, list) else value)


def _base(conn: Any) -> str:
    return str(conn.root_dse["defaultNamingContext"])


def test_a_plan_cannot_say_another_user_account_control_than_the_types_bits() -> None:
    # the tampered step: "any authentication protocol" plus unconstrained delegation and no pre-authentication
    with pytest.raises(ValidationError, match=r"only the bits this type changes .*TRUSTED_TO_AUTH_FOR_DELEGATION"):
        t.SetProtocolTransition.model_validate({
            "kind": "ad.protocol-transition", "account": "HV02", "before_uac": WORKSTATION,
            "after_uac": WORKSTATION | TRUSTED_TO_AUTH | TRUSTED_FOR_DELEGATION | DONT_REQ_PREAUTH})
    with pytest.raises(ValidationError, match="NOT_DELEGATED"):
        t.ClearNotDelegated.model_validate({"kind": "ad.clear-not-delegated", "account": "svc-vmm",
                                            "before_uac": 0x200 | 0x100000, "after_uac": 0x200 | DONT_REQ_PREAUTH})
    with pytest.raises(ValidationError, match="ACCOUNTDISABLE"):  # "enable" a DC into a workstation
        t.EnableAccount.model_validate({"kind": "ad.enable-account", "account": "DC1", "computer": True,
                                        "before_uac": 0x2 | SERVER_TRUST_ACCOUNT, "after_uac": WORKSTATION})
    # what the planner makes still loads
    made = t.SetProtocolTransition(account="HV02", before_uac=WORKSTATION, after_uac=WORKSTATION | TRUSTED_TO_AUTH)
    assert made.after_uac == WORKSTATION | TRUSTED_TO_AUTH


def test_the_writer_flips_only_the_owned_bits_of_the_live_value_whatever_the_step_says() -> None:
    """A tampered step that got past the model (built without validation) still writes only its bit."""
    changer, conn = _changer()
    assert _uac(conn, "HV02") == WORKSTATION
    tampered = t.SetProtocolTransition.model_construct(
        kind="ad.protocol-transition", id="x", owner=t.DIRECTORY, rights="", account="HV02", computer=True,
        before_uac=WORKSTATION, after_uac=WORKSTATION | TRUSTED_TO_AUTH | TRUSTED_FOR_DELEGATION | DONT_REQ_PREAUTH,
        clear_unconstrained=False)
    done = changer.apply(tampered)
    assert done.outcome is Outcome.APPLIED, done.message
    assert _uac(conn, "HV02") == WORKSTATION | TRUSTED_TO_AUTH  # 0x1001000: no 0x80000, no 0x400000


def test_a_tampered_record_puts_back_only_the_owned_bits() -> None:
    """Revert of a record whose `before` says a DC's value: only TRUSTED_TO_AUTH_FOR_DELEGATION goes back."""
    changer, conn = _changer()
    step = t.SetProtocolTransition(account="HV02", before_uac=WORKSTATION, after_uac=WORKSTATION | TRUSTED_TO_AUTH)
    assert changer.apply(step).outcome is Outcome.APPLIED
    record = StepRecord.model_validate({
        "number": 1, "how": "directory", "action": step.model_dump(mode="json"), "outcome": "applied",
        "before": {"userAccountControl": SERVER_TRUST_ACCOUNT | TRUSTED_FOR_DELEGATION | DONT_REQ_PREAUTH},
        "after": {"userAccountControl": WORKSTATION | TRUSTED_TO_AUTH}})
    done = changer.revert(step, record)
    assert done.outcome is Outcome.REVERTED, done.message
    assert _uac(conn, "HV02") == WORKSTATION  # the workstation bit stays, nothing else appears


def test_the_untampered_step_applies_and_reverts() -> None:
    changer, conn = _changer()
    step = t.SetProtocolTransition(account="HV02", before_uac=WORKSTATION, after_uac=WORKSTATION | TRUSTED_TO_AUTH)
    applied = changer.apply(step)
    assert applied.outcome is Outcome.APPLIED and _uac(conn, "HV02") == WORKSTATION | TRUSTED_TO_AUTH
    record = StepRecord.model_validate({"number": 1, "how": "directory", "action": step.model_dump(mode="json"),
                                        "outcome": "applied", "before": applied.before, "after": applied.after})
    assert changer.revert(step, record).outcome is Outcome.REVERTED
    assert _uac(conn, "HV02") == WORKSTATION


def test_the_bits_each_type_owns() -> None:
    from offlineprep.apply.states import uac_restored, uac_target, wanted_flags

    assert wanted_flags(t.SetProtocolTransition(account="a")) == {TRUSTED_TO_AUTH: True}
    assert wanted_flags(t.SetProtocolTransition(account="a", clear_unconstrained=True)) == {
        TRUSTED_TO_AUTH: True, TRUSTED_FOR_DELEGATION: False}
    assert wanted_flags(t.ClearNotDelegated(account="a")) == {0x100000: False}
    assert wanted_flags(t.EnableAccount(account="a")) == {0x2: False}
    live = WORKSTATION | DONT_REQ_PREAUTH | 0x10000  # whatever else the account holds stays
    assert uac_target(live, t.SetProtocolTransition(account="a")) == live | TRUSTED_TO_AUTH
    assert uac_restored(live | TRUSTED_TO_AUTH, 0xFFFFFFFF & ~TRUSTED_TO_AUTH, t.SetProtocolTransition(account="a")) == live
