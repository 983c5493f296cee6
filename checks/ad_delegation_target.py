"""ad.delegation-target: exactly one account holds `HOST/<name>` or `cifs/<name>` for each path computer.

Kerberos finds the service ticket's key by SPN. The name the path uses must be registered on
exactly one account: with none, the client cannot get a ticket (NTLM fallback, and delegation does
not apply); with two, the KDC refuses or issues a ticket the server cannot decrypt
(KRB_AP_ERR_MODIFIED). `cifs/x` is an alias of `HOST/x` (sPNMappings), and a DNS alias registered
with `setspn -S HOST/alias FS01` counts.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import SpnHolder
from offlineprep.model import Outcome, Phase, Remediation, Status
from offlineprep.names import short_name
from offlineprep.pwsh import comment, quote


@check(
    "ad.delegation-target",
    title="Each path computer's name is registered on exactly one account",
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
    },
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
            remediation=Remediation(
                summary=f"Register HOST/{spn_name} on the computer account that serves the share ({owner})",
                powershell=f"setspn -S {quote('HOST/' + spn_name)} {quote(owner)}",
                revert=f"setspn -D {quote('HOST/' + spn_name)} {quote(owner)}",
                phase=Phase.DIRECTORY,
            ),
        )
    if len(accounts) > 1:
        listing = "; ".join(accounts)
        return Outcome(
            status=Status.FAIL,
            subject=name,
            message=f"{len(accounts)} accounts hold an SPN for {name} ({listing}): Kerberos fails for duplicate SPNs",
            evidence=evidence,
            remediation=Remediation(
                summary=f"Remove the duplicate SPNs for {name}, keeping them on the account that serves the share",
                powershell=deduplicate(holders, computer.distinguished_name if computer and computer.found else None,
                                       owner, spn_name),
                phase=Phase.DIRECTORY,
            ),
        )
    return Outcome(status=Status.PASS, subject=name, message=f"{accounts[0]} holds {holders[0].spn}", evidence=evidence)


def deduplicate(holders: list[SpnHolder], server_dn: str | None, owner: str, spn_name: str) -> str:
    """setspn -D for every holder except the file server's own account.

    The fix script is meant to be run as printed, so it must never remove the name from the
    account that serves the share. When that account is unknown (the path uses a DNS alias, or
    the computer was not found) the commands stay comments for the administrator to choose.
    """
    keep = server_dn.casefold() if server_dn else None
    if keep is None:
        lines = [f"# the account that serves the share is unknown: keep {spn_name} on it, remove it from the others"]
        lines += [comment(f"setspn -D {quote(h.spn)} {quote(h.sam_account_name or h.distinguished_name)}")
                  for h in holders]  # comment(): a newline in a value from AD cannot end the comment
        return "\n".join(lines)
    lines = [f"# keep the SPNs for {spn_name} on {owner}; remove them from every other account:"]
    lines += [f"setspn -D {quote(h.spn)} {quote(h.sam_account_name or h.distinguished_name)}"
              for h in holders if h.distinguished_name.casefold() != keep]
    if not any(h.distinguished_name.casefold() == keep for h in holders):
        lines.append(f"setspn -S {quote('HOST/' + spn_name)} {quote(owner)}")
    return "\n".join(lines)
