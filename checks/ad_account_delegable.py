"""ad.account-delegable: the VMM service account and the Run As accounts can be delegated.

Delegation (constrained or not) forwards *these* accounts' identities from the Hyper-V host to
the file server. Windows refuses to delegate an account marked "Account is sensitive and cannot be
delegated" (userAccountControl NOT_DELEGATED 0x100000) or one in Protected Users (RID 525), and
the export then fails with access denied although every ACL is right.

Protected Users membership is read from the account's tokenGroups (transitive, so a membership
through a nested group counts). When the domain controller did not return tokenGroups (it "is not
present if no GC server is available", MS-ADTS 3.1.1.4.5.19; a bind account may also lack the
right to read it) the membership is unknown: the verdict is `error`, never `pass`, unless the
account already fails for another reason. A facts file written before offlineprep recorded
whether tokenGroups was read counts an empty list as not read.

Protected Users stops delegation only in a domain at functional level Windows Server 2012 R2 or
higher: its "domain controller protections" (no delegation, no NTLM, no DES/RC4, 4-hour TGTs) are a
feature of that level (Microsoft, "Protected Users security group": "The domain functional level must
be Windows Server 2012 R2", and "Protected User accounts that authenticate to a domain running
Windows Server 2012 R2 or later are unable to ... delegate"; "Active Directory Domain Services
functional levels": "DC-side protections for Protected Users" among the 2012 R2 level's features).
The level is the account's domain's rootDSE domainFunctionality (msDS-Behavior-Version of the domain
NC; 6 = DS_BEHAVIOR_WIN2012R2). Below it a member is delegated, so it is a warning (raising the level
will stop it), not a failure. When the level was not read, membership counts as blocking, as before.

Sources: Microsoft, "Troubleshooting Kerberos constrained delegation issues" (step 3.5: "Account is
sensitive and cannot be delegated" must be clear); "Protected Users security group" (members
"can't be delegated with Kerberos constrained or unconstrained delegation"); MS-SFU 3.2.5.1.2 (the
KDC does not make an S4U2self ticket forwardable for a principal with DelegationNotAllowed).
Measured on Samba's KDC (tests/integration/test_kdc_oracle.py): S4U2Proxy is refused for a
"sensitive" user and for a disabled one; Samba 4.17 does not refuse Protected Users members,
while Windows does, so that rule has no KDC oracle here.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit, remediation
from offlineprep.actions import ActionBase
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import DirectoryFacts
from offlineprep.model import Outcome, Status
from offlineprep.pwsh import quote

PROTECTED_USERS_RID = "525"
# msDS-Behavior-Version of a domain at the Windows Server 2012 R2 level (MS-ADTS 6.1.4.3, DS_BEHAVIOR_WIN2012R2)
LEVEL_2012_R2 = 6


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
        "Active Directory Domain Services functional levels":
            "https://learn.microsoft.com/windows-server/identity/ad-ds/active-directory-functional-levels",
        "rootDSE domainFunctionality (MS-ADTS)":
            "https://learn.microsoft.com/openspecs/windows_protocols/ms-adts/6dd88965-8feb-4369-ae7e-075985da8071",
        "userAccountControl flags":
            "https://learn.microsoft.com/troubleshoot/windows-server/active-directory/useraccountcontrol-manipulate-account-properties",
    },
)
def account_delegable(ctx: CheckContext) -> Iterator[Outcome]:
    for account in ctx.inventory.accounts_to_check:
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
    level = domain_functional_level(ctx, facts, account)
    evidence = {
        "distinguishedName": principal.distinguished_name,
        **checkkit.uac_evidence(principal.user_account_control),
        "protected_users_membership": protected,
        "domain_functional_level": level,
    }
    identity = principal.sam_account_name or account
    problems = []
    fixes: list[ActionBase] = []
    if uac & checkkit.UAC_NOT_DELEGATED:
        problems.append("it is marked 'Account is sensitive and cannot be delegated' (NOT_DELEGATED)")
        fixes.append(remediation.clear_not_delegated(identity, uac=principal.user_account_control))
    dormant = bool(protected) and level is not None and level < LEVEL_2012_R2
    if dormant:  # the group's DC-side protections are a feature of the 2012 R2 level: not in force yet
        protected = []
    if protected:
        problems.append("it is a member of Protected Users, whose members are never delegated")
        # by SID: the group's name is localised ("Geschützte Benutzer"); a nested membership must be
        # removed from the group in between, which tokenGroups does not name (the fix says so)
        fixes.append(remediation.leave_protected_users(identity, protected[0], member_dn=principal.distinguished_name,
                                                       label=account))
    if uac & checkkit.UAC_ACCOUNTDISABLE:
        problems.append("it is disabled")
        fixes.append(remediation.enable_account(identity, uac=principal.user_account_control))
    evidence["token_groups_read"] = principal.groups_known()
    if not problems:
        if not principal.groups_known():
            return checkkit.error(
                account, f"the domain controller did not return tokenGroups for {identity}, so its Protected Users "
                "membership (direct or through nested groups) cannot be seen: tokenGroups is missing when the DC "
                "reaches no Global Catalog, or when the account offlineprep binds as may not read it; compare "
                f"Get-ADUser -Identity {quote(identity)} -Properties tokenGroups run as that account, and run again",
                evidence=evidence)
        if dormant:
            return Outcome(
                status=Status.WARN, subject=account, evidence=evidence,
                message=f"{identity} can be delegated today, but it is a member of Protected Users, whose members are "
                        f"never delegated once the domain's functional level is Windows Server 2012 R2 or higher (it "
                        f"is {level_name(level)}): raising the level would stop the export and import",
                remediation=remediation.remediation(f"Take {identity} out of Protected Users before raising the level", [
                    remediation.leave_protected_users(identity, evidence["protected_users_membership"][0],
                                                      member_dn=principal.distinguished_name, label=account)]))
        return Outcome(status=Status.PASS, subject=account, message=f"{identity} can be delegated", evidence=evidence)
    return Outcome(
        status=Status.FAIL,
        subject=account,
        message=f"{identity} cannot be delegated: " + "; ".join(problems)
        + ("" if principal.groups_known() else " (tokenGroups was not returned, so Protected Users was not checked)"),
        evidence=evidence,
        remediation=remediation.remediation(f"Make {identity} delegable", fixes),
    )


_LEVELS = {0: "Windows 2000", 1: "Windows Server 2003 interim", 2: "Windows Server 2003", 3: "Windows Server 2008",
           4: "Windows Server 2008 R2", 5: "Windows Server 2012", 6: "Windows Server 2012 R2", 7: "Windows Server 2016",
           10: "Windows Server 2025"}


def level_name(level: int | None) -> str:
    """A domain functional level in Microsoft's words (MS-ADTS 6.1.4.3 DS_BEHAVIOR_* values)."""
    return f"{_LEVELS.get(level, 'level')} ({level})" if level is not None else "not read"


def domain_functional_level(ctx: CheckContext, view: DirectoryFacts, account: str) -> int | None:
    """The functional level of the domain whose directory read `account` (its own domain's): Protected
    Users is enforced by that domain's DCs. None when it was not read."""
    domain = view.domain_of_read(account)
    own = ctx.facts.directory_for(domain) if domain else None
    return (own or view).domain_functionality
