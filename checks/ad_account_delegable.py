"""ad.account-delegable: the VMM service account and the Run As accounts can be delegated.

Delegation (constrained or not) forwards *these* accounts' identities from the Hyper-V host to
the file server. Windows refuses to delegate an account marked "Account is sensitive and cannot be
delegated" (userAccountControl NOT_DELEGATED 0x100000) or one in Protected Users (RID 525), and
the export then fails with access denied although every ACL is right.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Phase, Remediation, Status
from offlineprep.pwsh import quote

PROTECTED_USERS_RID = "525"


@check(
    "ad.account-delegable",
    title="VMM service and Run As accounts can be delegated",
    severity="high",
    needs=[Need.DIRECTORY],
    walkthrough_step="Prepare for offline initial replication: VMM service account and Run As accounts",
    why=(
        "Delegation forwards the identity of the VMM service account (and of the Run As accounts) from "
        "the Hyper-V host to the file server. Windows never delegates an account marked 'Account is "
        "sensitive and cannot be delegated' or one in the Protected Users group, so the export or import "
        "then fails with access denied even though every permission on the share and the folder is right."
    ),
    docs={
        "Kerberos constrained delegation overview":
            "https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview",
        "Protected Users security group":
            "https://learn.microsoft.com/windows-server/security/credentials-protection-and-management/protected-users-security-group",
        "userAccountControl flags":
            "https://learn.microsoft.com/troubleshoot/windows-server/active-directory/useraccountcontrol-manipulate-account-properties",
    },
)
def account_delegable(ctx: CheckContext) -> Iterator[Outcome]:
    for account in ctx.site.accounts_to_check:
        yield judge_account(ctx, account)


def is_protected_users(sid: str, account_sid: str | None = None) -> bool:
    """Protected Users is the group with RID 525 *of the account's own domain* (a global group, so
    only its own domain's members count). Without the account's SID, any domain's 525 counts."""
    parts = sid.upper().split("-")
    if not (sid.upper().startswith("S-1-5-21-") and len(parts) == 8 and parts[-1] == PROTECTED_USERS_RID):
        return False
    own = (account_sid or "").upper().split("-")
    if len(own) == 8 and own[:4] == ["S", "1", "5", "21"]:
        return parts[:7] == own[:7]
    return True


def judge_account(ctx: CheckContext, account: str) -> Outcome:
    facts, problem = checkkit.directory(ctx, account)
    if facts is None:
        assert problem is not None
        return problem
    principal = facts.find_principal(account)
    if principal is None:
        return checkkit.directory_missing(facts, account, f"the account {account}")
    elsewhere = checkkit.principal_elsewhere(facts, principal, account)
    if elsewhere is not None:
        return elsewhere
    if not principal.found:
        return Outcome(status=Status.FAIL, subject=account, message=f"the account {account} was not found in the directory",
                       evidence={"searched_for": account})
    uac = principal.user_account_control or 0
    protected = [s for s in principal.token_group_sids if is_protected_users(s, principal.object_sid)]
    evidence = {
        "distinguishedName": principal.distinguished_name,
        **checkkit.uac_evidence(principal.user_account_control),
        "protected_users_membership": protected,
    }
    identity = principal.sam_account_name or account
    problems = []
    fixes, reverts = [], []
    if uac & checkkit.UAC_NOT_DELEGATED:
        problems.append("it is marked 'Account is sensitive and cannot be delegated' (NOT_DELEGATED)")
        fixes.append(f"Set-ADAccountControl -Identity {quote(identity)} -AccountNotDelegated $false")
        reverts.append(f"Set-ADAccountControl -Identity {quote(identity)} -AccountNotDelegated $true")
    if protected:
        problems.append("it is a member of Protected Users, whose members are never delegated")
        # by SID: the group's name is localised ("Geschützte Benutzer"); a nested membership must be
        # removed from the group in between, which tokenGroups does not name
        group = quote(protected[0])
        fixes.append(f"Remove-ADGroupMember -Identity {group} -Members {quote(identity)} -Confirm:$false"
                     "   # Protected Users; if nested, remove the group that holds the account instead")
        reverts.append(f"Add-ADGroupMember -Identity {group} -Members {quote(identity)}")
    if uac & checkkit.UAC_ACCOUNTDISABLE:
        problems.append("it is disabled")
        fixes.append(f"Enable-ADAccount -Identity {quote(identity)}")
    if not problems:
        message = f"{identity} can be delegated"
        if not principal.token_group_sids:
            # tokenGroups always holds at least the primary group; empty means it was not returned
            # (no Global Catalog reachable from the DC), so Protected Users could not be seen
            message += " (tokenGroups was empty, so Protected Users membership could not be confirmed)"
            evidence["token_groups_read"] = False
        return Outcome(status=Status.PASS, subject=account, message=message, evidence=evidence)
    return Outcome(
        status=Status.FAIL,
        subject=account,
        message=f"{identity} cannot be delegated: " + "; ".join(problems),
        evidence=evidence,
        remediation=Remediation(
            summary=f"Make {identity} delegable",
            powershell="\n".join(fixes),
            revert="\n".join(reverts) or None,
            phase=Phase.DIRECTORY,
        ),
    )
