"""ad.delegation-target: the name each path uses is registered on exactly one account, the serving machine's.

Kerberos finds the key of a service ticket by SPN. The name the path uses must be registered on
exactly one account: with none, the client cannot get a ticket (NTLM fallback, and delegation does
not apply); with two, the KDC refuses or issues a ticket the server cannot decrypt. `cifs/x` is an
alias of `HOST/x` (sPNMappings), and a DNS alias registered with `setspn -S HOST/alias FS01` counts.

The one holder must be the account of the machine that serves the share. Behind a DNS alias, a
retired computer account (FILES$) can still hold `HOST/files.contoso.com` while FS01 serves the
share: tickets for that name are then encrypted with FILES$'s key, which FS01 does not have, and
the client gets KRB_AP_ERR_MODIFIED ("the password used to encrypt the kerberos service ticket is
different than that on the target server", Microsoft KB 558115 "Kerberos client receives
KRB_AP_ERR_MODIFIED error"; for aliases Microsoft's "Troubleshooting failure to access Windows file
server by alias name (CNAME)" names the missing SPN and recommends `netdom computername /add`).
Such a holder fails, naming both accounts; the fix moves the SPNs to the serving machine's account
(one `ad.spn` action per SPN, docs/fixes.md: taken off the old holder first, then registered on the
serving machine's account, never taken off that account; a move is not reverted).

The serving machine is the path computer's own name as it reports it over WinRM
(HostFacts.computer_name), when host facts were collected for other checks. When they were not
(`--only 'ad.*'` collects none: this check needs only the directory) or the machine did not
answer, the one holder passes only when it is the computer account whose dNSHostName or
sAMAccountName is the path's own name, and the message says that the serving machine was not
confirmed; another account holding the name (a legitimate alias, or a stale one) is a warning
until the host side confirms it.

A clustered file server role (general use, or a Scale-Out File Server) answers WinRM on one of its
nodes, but its shares are scoped to its client access point (MSFT_SmbShare.ScopeName) and the
machine that serves them is the role: its network name resource has a computer object of its own
(a virtual computer object, VCO, created by the cluster name object), which holds `HOST/<cap>`
in both forms, and the node that owns the role decrypts tickets with that object's key ("Prestage
cluster computer objects in Active Directory Domain Services"; "File share scoping in Windows
Server 2008 failover clusters"). So when the path's name reached a share scoped to it, the serving
machine is the role (checkkit.serving_role, docs/clusters.md): the role's own object holding the
SPNs passes, and no fix ever takes an SPN off a client access point's object
(remediation.move_spn refuses; the fix is then a manual step). A role whose network name resource
is not Online fails with no SPN fix: no node answers for the name while it is so.

A path computer of another domain than the one read (its DNS suffix, or its own name over WinRM)
is `error`, with no fix: its SPN holders live in that domain, and an SPN change against a same-named
account of the domain read would change another machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from offlineprep import checkkit, remediation
from offlineprep.actions import ActionBase
from offlineprep.actions.types import SpnHolderRef
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import DirectoryFacts, SpnHolder
from offlineprep.model import Outcome, Status
from offlineprep.names import HostName, domain_key, host_key


@check(
    "ad.delegation-target",
    title="Each path computer's name is registered on exactly one account, the serving machine's",
    severity="high",
    needs=[Need.DIRECTORY],
    walkthrough_step="Prepare for offline initial replication: constrained delegation to the cifs service of the path computers",
    why=(
        "Kerberos finds the file server by the service principal name of the name the path uses. If no "
        "account holds that name, the host cannot get a ticket and delegation never applies; if two "
        "accounts hold it, or a retired server's account does, the ticket is encrypted for the wrong "
        "machine and the file server refuses it."
    ),
    docs={
        "Service principal names":
            "https://learn.microsoft.com/windows/win32/ad/service-principal-names",
        "setspn":
            "https://learn.microsoft.com/windows-server/administration/windows-commands/setspn",
        "Kerberos constrained delegation overview":
            "https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview",
        "Prestage cluster computer objects in AD DS (a clustered role's client access point has its own object)":
            "https://learn.microsoft.com/windows-server/failover-clustering/prestage-cluster-adds",
    },
)
def delegation_target(ctx: CheckContext) -> Iterator[Outcome]:
    done: set[str] = set()
    for ref in ctx.inventory.path_refs:
        key = host_key(ref.server)  # fs01.contoso.com. is the same name
        if key in done:
            continue
        done.add(key)
        yield judge_target(ctx, ref.server, ref.server_is_ip)


def account_name_of(machine: str) -> str:
    """FS01$ for FS01.contoso.com: the sAMAccountName Windows gives a computer of that name."""
    return HostName(machine).computer_account


class Account:
    """One computer account as far as this check can name it: its DN when the directory returned
    it, its sAMAccountName otherwise (the serving machine's account need not have been read)."""

    def __init__(self, sam: str, dn: str | None = None) -> None:
        self.sam, self.dn = sam, dn

    @property
    def identity(self) -> str:
        """Get-ADComputer's -Identity: the DN when known, else the sAMAccountName without its $."""
        return self.dn or self.sam.rstrip("$")

    def holds(self, holder: SpnHolder) -> bool:
        if self.dn and holder.distinguished_name.casefold() == self.dn.casefold():
            return True
        return holder.sam_account_name is not None and holder.sam_account_name.casefold() == self.sam.casefold()


def serving_account(facts: DirectoryFacts, machine: str) -> Account:
    for known in facts.computers.values():
        if known.found and known.dns_host_name and HostName(known.dns_host_name) == machine:
            return Account(known.sam_account_name or account_name_of(machine), known.distinguished_name)
    return Account(account_name_of(machine))


def why_unconfirmed(ctx: CheckContext, name: str) -> str:
    if ctx.facts.hosts is None:
        return "host facts were not collected in this run (as with --only 'ad.*')"
    return f"{name} did not report its name over WinRM in this run"


def judge_target(ctx: CheckContext, name: str, is_ip: bool) -> Outcome:
    if is_ip:
        return Outcome(status=Status.FAIL, subject=name,
                       message=f"the path is addressed by IP address {name}: Kerberos cannot be used, so "
                               "delegation never applies; use the server's DNS name",
                       evidence={"name": name})
    facts, problem = checkkit.directory(ctx, name)
    if facts is None:
        assert problem is not None
        return problem
    spn_name = HostName(name).bare  # SPNs are registered without the root dot of an FQDN
    holders = facts.find_spn_holders(name)
    if holders is None:
        return checkkit.directory_missing(facts, name, f"the SPN holders of {name}")
    accounts = sorted({h.distinguished_name for h in holders}, key=str.casefold)
    where = checkkit.path_computer_domain(ctx, facts, spn_name)
    # the domain whose directory was asked about this name (with several, its own domain's when configured)
    read_domain = facts.domain_of_read(name) if facts.several() else (
        checkkit.dn_domain(facts.base_dn) or domain_key(facts.domain_dns_name))
    evidence: dict[str, Any] = {
        "name": name, "holders": [{"spn": h.spn, "account": h.distinguished_name} for h in holders],
        "serving_machine": where.serving_machine, "path_computer_domain": where.domain,
        "path_computer_domain_from": where.source,
    }
    if checkkit.other_domain(read_domain, where.domain):
        seen = (f"; in {read_domain}, {'; '.join(accounts)} hold an SPN for {name}, which is not the account of a "
                f"machine of {where.domain}") if accounts else ""
        return checkkit.error(
            name, f"{name} is served by a computer of {where.domain} ({where.source}), while the directory read is "
            f"{read_domain}: its SPN holders live in {where.domain} and were not read, so no setspn is offered (a "
            f"same-named account of {read_domain} is another machine); point [directory] at a DC of {where.domain} "
            f"to judge it{seen}", evidence=evidence)

    computer = facts.find_computer(name)
    own = Account(computer.sam_account_name or account_name_of(spn_name), computer.distinguished_name) \
        if computer is not None and computer.found else None
    serving = serving_account(facts, where.serving_machine) if where.serving_machine else None
    role = checkkit.serving_role(ctx, spn_name)
    if role is not None:
        evidence.update({"client_access_point": role.fqdn, "cluster": role.cluster, "cluster_role": role.group,
                         "network_name_state": role.state, "answered_by": role.answered_by})
    keeper = serving or own or Account(account_name_of(spn_name))
    guarded = checkkit.client_access_point_accounts(ctx) | ({role.computer_account.casefold()} if role else set())
    if not accounts:
        return Outcome(
            status=Status.FAIL,
            subject=name,
            message=f"no account holds HOST/{spn_name} or cifs/{spn_name}: clients cannot get a Kerberos ticket for "
                    "this name",
            evidence=evidence,
            remediation=remediation.remediation(
                f"Register HOST/{spn_name} on the computer account that serves the share ({keeper.sam})",
                [remediation.move_spn(f"HOST/{spn_name}", add_to=keeper.identity, add_to_label=keeper.sam)]),
        )
    if len(accounts) > 1:
        listing = "; ".join(accounts)
        return Outcome(
            status=Status.FAIL,
            subject=name,
            message=f"{len(accounts)} accounts hold an SPN for {name} ({listing}): Kerberos fails for duplicate SPNs",
            evidence=evidence,
            remediation=remediation.remediation(
                f"Remove the duplicate SPNs for {name}, keeping them on the account that serves the share",
                deduplicate(holders, serving or own, spn_name, guarded)),
        )
    holder = holders[0]
    holder_name = holder.sam_account_name or holder.distinguished_name
    spns = sorted({h.spn for h in holders}, key=str.casefold)
    if serving is not None:
        if serving.holds(holder):
            if role is not None and not role.online:
                return Outcome(
                    status=Status.FAIL, subject=name, evidence=evidence,
                    message=f"{holder_name} holds {', '.join(spns)} as the computer object of the client access "
                            f"point of {role.kind} role {role.group} (cluster {role.cluster}), but its network name "
                            f"resource is {role.state}: no node answers for {spn_name} or holds its key until it is "
                            "Online",
                    remediation=remediation.remediation(
                        f"Bring the network name of role {role.group} online", [remediation.manual(
                            f"On a node of cluster {role.cluster}, bring the role's network name online "
                            f"(Start-ClusterResource on the network name resource of {role.group}); if it fails, "
                            "read the cluster's events for its computer object (it must exist, enabled, in AD)")]))
            if role is not None:
                return Outcome(status=Status.PASS, subject=name, evidence=evidence,
                               message=f"{holder_name} holds {', '.join(spns)}, and it is the computer object of "
                                       f"{role.fqdn}, the client access point of {role.kind} role "
                                       f"{role.group or role.scope} that serves the share (the share is scoped to it; "
                                       f"{role.answered_by or 'a node'} answered WinRM)")
            return Outcome(status=Status.PASS, subject=name, evidence=evidence,
                           message=f"{holder_name} holds {', '.join(spns)}, and it is the account of "
                                   f"{where.serving_machine}, the machine that serves the share")
        who = (f"the client access point {role.fqdn} of {role.kind} role {role.group or role.scope} (the share is "
               f"scoped to it)" if role is not None else f"{where.serving_machine} (as it reports itself over WinRM)")
        message = (f"{holder_name} holds {', '.join(spns)}, but the share is served by {who}, whose account is "
                   f"{serving.sam}: tickets for {spn_name} are encrypted with the key of {holder_name}, which the "
                   "serving machine does not have (KRB_AP_ERR_MODIFIED). A stale account behind a DNS alias does this")
        summary = (f"Move {', '.join(spns)} from {holder_name} to {serving.sam}, the account of the machine that serves "
                   "the share")
        try:
            actions = move(holders, spns, serving, guarded)
        except remediation.ClientAccessPointSpn:
            message += (f"; {holder_name} is the computer object of a clustered role's client access point, so no "
                        "SPN is taken off it here")
            actions = [remediation.manual(
                f"{holder_name} is the computer object of a client access point of a failover cluster: its SPNs belong "
                f"to it. Decide by hand which name the path should use for {spn_name}, and never move the role's "
                "SPNs onto a node")]
        return Outcome(status=Status.FAIL, subject=name, evidence=evidence, message=message,
                       remediation=remediation.remediation(summary, actions))
    unconfirmed = why_unconfirmed(ctx, name)
    if own is not None and own.holds(holder):
        return Outcome(status=Status.PASS, subject=name, evidence=evidence,
                       message=f"{holder_name} holds {', '.join(spns)} and is the computer account named {spn_name}; "
                               f"that it serves the share was not confirmed over WinRM: {unconfirmed}")
    named = f"the computer account named {spn_name} ({own.sam})" if own else f"an account named {spn_name}"
    return Outcome(
        status=Status.WARN, subject=name, evidence=evidence,
        message=f"{holder_name} holds {', '.join(spns)}, not {named}: right when {holder_name} serves the share under "
                f"this alias, wrong (KRB_AP_ERR_MODIFIED) when the name leads to another machine; which machine serves "
                f"it was not confirmed over WinRM: {unconfirmed}",
    )


def deduplicate(holders: list[SpnHolder], keep: Account | None, spn_name: str,
                guarded: set[str] | frozenset[str] = frozenset()) -> list[ActionBase]:
    """Take the name off every holder except the serving machine's own account (and register it there).

    The fix script is meant to be run as printed, so it must never remove the name from the
    account that serves the share. When that account is unknown (no WinRM facts and no computer
    account of that name) the fix is a manual step naming the holders, for the administrator to
    choose.
    """
    refs = [holder_ref(h) for h in holders]
    if keep is None:
        listing = "; ".join(f"{r.spn} on {r.label}" for r in refs)
        return [remediation.manual(f"The account that serves the share is unknown: keep {spn_name} on it and remove "
                                   f"it from the others ({listing})")]
    holds = any(keep.holds(h) for h in holders)
    try:
        return [remediation.move_spn(
            f"HOST/{spn_name}", add_to=None if holds else keep.identity, add_to_label=keep.sam,
            remove_from=[holder_ref(h) for h in holders if not keep.holds(h)], before=refs, never_from=guarded)]
    except remediation.ClientAccessPointSpn as refused:
        listing = "; ".join(f"{r.spn} on {r.label}" for r in refs)
        return [remediation.manual(f"{refused}: decide by hand which account keeps {spn_name} ({listing}); a client "
                                   "access point's computer object keeps its own SPNs")]


def move(holders: list[SpnHolder], spns: list[str], to: Account,
         guarded: set[str] | frozenset[str] = frozenset()) -> list[ActionBase]:
    """One move per SPN: off the holder that must not have it, then onto the serving machine's
    account (a DC refuses a duplicate, so the removal comes first). Nothing is ever taken off `to`."""
    actions: list[ActionBase] = []
    for spn in spns:
        held = [h for h in holders if h.spn == spn]
        actions.append(remediation.move_spn(spn, add_to=to.identity, add_to_label=to.sam,
                                            remove_from=[holder_ref(h) for h in held if not to.holds(h)],
                                            before=[holder_ref(h) for h in held], never_from=guarded))
    return actions


def holder_ref(holder: SpnHolder) -> SpnHolderRef:
    return SpnHolderRef(distinguished_name=holder.distinguished_name, spn=holder.spn,
                        label=holder.sam_account_name or holder.distinguished_name)
