"""path.share-host-group: the VMM service account is in a privileged local group on the share's server.

Walkthrough: "If the import or export path is shared, assign Administrator, Power User, Print
Operator, or Server Operator group membership for the VMM service account on the remote computer
on which the share is located." Membership counts directly or through nested domain groups
(tokenGroups is transitive). On a member server only Administrators and Power Users exist;
Print Operators and Server Operators live on domain controllers only.

Every UNC path gets its own finding, also when export and import share one server (each subject
is reported; the fix script merges identical fixes). On a domain controller the groups are AD's
builtin groups: tokenGroups already carries them, and the fix is Add-ADGroupMember (the local
account cmdlets do not manage a DC's groups).
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Remediation, Status
from offlineprep.names import PathRef
from offlineprep.remediation import add_directory_group_member, add_local_group_member, remediation
from offlineprep.tokens import member_of_local_group

GROUPS = {
    "S-1-5-32-544": "Administrators",
    "S-1-5-32-547": "Power Users",
    "S-1-5-32-550": "Print Operators",
    "S-1-5-32-549": "Server Operators",
}


@check(
    "path.share-host-group",
    title="VMM service account is in Administrators/Power Users/Print or Server Operators on the share's server",
    severity="high",
    needs=[Need.DIRECTORY, Need.PATH_COMPUTERS],
    walkthrough_step="Prepare for offline initial replication: group membership on the computer holding the share",
    why=(
        "The walkthrough asks for the VMM service account to be a member of Administrators, Power Users, "
        "Print Operators or Server Operators on the computer that holds the share (directly or through a "
        "domain group). On a member server only Administrators and Power Users exist; the operator groups "
        "live on domain controllers."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Active Directory security groups (Administrators, Power Users, Server and Print Operators)":
            "https://learn.microsoft.com/windows-server/identity/ad-ds/manage/understand-security-groups",
    },
)
def share_host_group(ctx: CheckContext) -> Iterator[Outcome]:
    account = checkkit.vmm_service_account(ctx)
    for ref in ctx.inventory.path_refs:
        if not ref.is_unc:
            yield checkkit.skip(ref.raw, f"{ref.raw} is a local path: the rule applies to shared paths",
                                account=account)
            continue
        yield judge(ctx, ref, account)


def judge(ctx: CheckContext, ref: PathRef, account: str) -> Outcome:
    found = checkkit.access_context(ctx, ref, account)
    if isinstance(found, Outcome):
        return found
    present = {g.sid.upper(): g for g in found.server.local_groups}
    evidence: dict[str, object] = {
        "server": ref.server,
        "groups": {
            GROUPS[sid]: (sorted(present[sid].member_sids) if sid in present else "not present on this server")
            for sid in GROUPS
        },
    }
    evidence["domain_controller"] = found.domain_controller
    for sid, name in GROUPS.items():
        membership = member_of_local_group(found.principal, found.server, sid, found.domain_controller)
        if membership.member:
            via = ", ".join(found.sid_names.get(v, v) for v in membership.via)
            evidence["member_via"] = membership.via
            return Outcome(status=Status.PASS, subject=ref.raw, account=account, evidence=evidence,
                           message=f"{account} is in {name} on {ref.server} (via {via})")
    if not found.server.local_groups:
        return checkkit.error(ref.raw, f"{ref.server} returned no local groups", account=account, evidence=evidence)
    return Outcome(
        status=Status.FAIL, subject=ref.raw, account=account, evidence=evidence,
        message=f"{account} is in none of Administrators, Power Users, Print Operators, Server Operators on "
                f"{ref.server}" + (" (a domain controller: these are AD's builtin groups)"
                                   if found.domain_controller else ""),
        remediation=(add_builtin_group_member(found.principal.object_sid or account, account,
                                              member_dn=found.principal.distinguished_name)
                     if found.domain_controller
                     else add_local_group_member(ref.server, "S-1-5-32-544", "Administrators", account,
                                                 member_sid=found.principal.object_sid)),
    )


def add_builtin_group_member(member: str, account: str, *, member_dn: str | None = None) -> Remediation:
    """On a DC: Administrators is AD's Builtin\\Administrators (Add-ADGroupMember takes SIDs)."""
    return remediation(
        f"Add {account} to Builtin\\Administrators in Active Directory (the share is on a domain controller)",
        [add_directory_group_member("S-1-5-32-544", "Builtin\\Administrators", member, member_dn=member_dn,
                                    label=account)])
