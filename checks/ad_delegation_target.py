"""ad.delegation-target: exactly one account holds `HOST/<name>` or `cifs/<name>` for each path computer.

Kerberos finds the service ticket's key by SPN. The name the path uses must be registered on
exactly one account: with none, the client cannot get a ticket (NTLM fallback, and delegation does
not apply); with two, the KDC refuses or issues a ticket the server cannot decrypt
(KRB_AP_ERR_MODIFIED). `cifs/x` is an alias of `HOST/x` (sPNMappings), and a DNS alias registered
with `setspn -S HOST/alias FS01` counts.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit, remediation
from offlineprep.actions import ActionBase
from offlineprep.actions.types import SpnHolderRef
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import SpnHolder
from offlineprep.model import Outcome, Status
from offlineprep.names import short_name


@check(
    "ad.delegation-target",
    title="Each path computer's name is registered on exactly one account",
    severity="high",
    needs=[Need.DIRECTORY],
    seed_step="Prepare for offline initial replication: constrained delegation to the cifs service of the path computers",
)
def delegation_target(ctx: CheckContext) -> Iterator[Outcome]:
    done: set[str] = set()
    for ref in ctx.site.paths:
        key = ref.server.rstrip(".").casefold()  # fs01.contoso.com. is the same name
        if key in done:
            continue
        done.add(key)
        yield judge_target(ctx, ref.server, ref.server_is_ip)


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
    spn_name = name.rstrip(".")  # SPNs are registered without the root dot of an FQDN
    holders = facts.find_spn_holders(name)
    if holders is None:
        return checkkit.directory_missing(facts, name, f"the SPN holders of {name}")
    accounts = sorted({h.distinguished_name for h in holders}, key=str.casefold)
    evidence = {"name": name, "holders": [{"spn": h.spn, "account": h.distinguished_name} for h in holders]}
    computer = facts.find_computer(name)
    owner = (computer.sam_account_name if computer and computer.found else None) or f"{short_name(name).upper()}$"
    if not accounts:
        return Outcome(
            status=Status.FAIL,
            subject=name,
            message=f"no account holds HOST/{name} or cifs/{name}: clients cannot get a Kerberos ticket for this name",
            evidence=evidence,
            remediation=remediation.remediation(
                f"Register HOST/{spn_name} on the computer account that serves the share ({owner})",
                [remediation.move_spn(f"HOST/{spn_name}", add_to=owner.rstrip("$"), add_to_label=owner)]),
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
                deduplicate(holders, computer.distinguished_name if computer and computer.found else None,
                            owner, spn_name)),
        )
    return Outcome(status=Status.PASS, subject=name, message=f"{accounts[0]} holds {holders[0].spn}", evidence=evidence)


def deduplicate(holders: list[SpnHolder], server_dn: str | None, owner: str, spn_name: str) -> list[ActionBase]:
    """Take the name off every holder except the file server's own account (and register it there).

    The fix script is meant to be run as printed, so it must never remove the name from the
    account that serves the share. When that account is unknown (the path uses a DNS alias, or
    the computer was not found) the fix is a manual step naming the holders, for the administrator
    to choose.
    """
    keep = server_dn.casefold() if server_dn else None
    refs = [SpnHolderRef(distinguished_name=h.distinguished_name, spn=h.spn,
                         label=h.sam_account_name or h.distinguished_name) for h in holders]
    if keep is None:
        listing = "; ".join(f"{r.spn} on {r.label}" for r in refs)
        return [remediation.manual(f"The account that serves the share is unknown: keep {spn_name} on it and remove "
                                   f"it from the others ({listing})")]
    holds = any(h.distinguished_name.casefold() == keep for h in holders)
    return [remediation.move_spn(
        f"HOST/{spn_name}", add_to=None if holds else server_dn, add_to_label=owner,
        remove_from=[r for r in refs if r.distinguished_name.casefold() != keep], before=refs)]
