"""ad.host-account: every Hyper-V host (source and target) has an enabled computer account.

Walkthrough: "In Active Directory, on each Hyper-V host server … enable and configure constrained
delegation" — which presumes a computer account to configure. A host that is not joined (or whose
account is disabled) cannot obtain Kerberos tickets, so neither delegation nor replication works.
Matching: a host written short in the site file is found by its FQDN and the other way round.

Where the SPEC is silent: a host written as an FQDN outside the domain the collector read (a child
domain such as `hv11.fabrikam.contoso.com` when the directory is `contoso.com`) and not found is
`error`, not `fail`: its account lives in another domain's naming context, which this run did not
search, so absence proves nothing. A host written as an IP address is `error` for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit, remediation
from offlineprep.actions.types import hyperv_host
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.names import HostName, is_ip_address
from offlineprep.remediation import ad_identity


@check(
    "ad.host-account",
    title="Each Hyper-V host has an enabled computer account",
    severity="high",
    needs=[Need.DIRECTORY],
    walkthrough_step="Prepare for offline initial replication: constrained delegation on each Hyper-V host",
    why=(
        "Delegation is configured on each Hyper-V host's computer account in Active Directory. A host "
        "that is not joined to the domain, or whose computer account is disabled, cannot get Kerberos "
        "tickets: neither delegation to the file servers nor replication with Kerberos can work for it."
    ),
    docs={
        "Kerberos constrained delegation overview":
            "https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview",
        "Enable-ADAccount":
            "https://learn.microsoft.com/powershell/module/activedirectory/enable-adaccount",
        "userAccountControl flags":
            "https://learn.microsoft.com/troubleshoot/windows-server/active-directory/useraccountcontrol-manipulate-account-properties",
    },
)
def host_account(ctx: CheckContext) -> Iterator[Outcome]:
    for role in checkkit.hyperv_hosts(ctx):
        yield judge_host_account(ctx, role.name)


def outside_domain(host: str, domain: str | None) -> str | None:
    """The DNS domain of an FQDN host when it is not the domain read (a child domain counts), else None."""
    name = HostName(host)
    if not domain or not name.is_fqdn:
        return None
    return None if name.in_domain(domain) else name.suffix


def judge_host_account(ctx: CheckContext, host: str) -> Outcome:
    facts, problem = checkkit.directory(ctx, host)
    if facts is None:
        assert problem is not None
        return problem
    account = facts.find_computer(host)
    if account is None:
        return checkkit.directory_missing(facts, host, f"the computer account of {host}")
    if not account.found:
        if is_ip_address(host):
            return checkkit.error(host, f"{host} is an IP address, which no computer account records: write the "
                                  "host's DNS name in the site file (Kerberos and delegation work by name)")
        domain = facts.domain_of_read(host)  # with several domains, the one whose directory was asked
        outside = outside_domain(host, domain)
        if outside:
            only = "the only domain read" if not facts.several() else "the domain whose directory was asked"
            setting = "point [directory] at" if not facts.several() else "add a [[directory]] for"
            return checkkit.error(
                host, f"no computer account for {host} in {domain}, {only}; {host} "
                f"looks like a member of {outside}: {setting} a DC of {outside} (and base_dn) to judge it")
        return Outcome(
            status=Status.FAIL,
            subject=host,
            message=f"no computer account for {host} in {domain or 'the domain'}",
            evidence={"searched_for": host, "domain": domain},
            remediation=remediation.remediation(f"Join {host} to the domain", [remediation.manual(
                f"Join {host} to {domain or 'the domain'}: on {host} itself, as a local administrator, "
                f"Add-Computer -DomainName '{domain or '<domain>'}' -Restart", hyperv_host(host))]),
        )
    evidence = {"distinguishedName": account.distinguished_name, **checkkit.uac_evidence(account.user_account_control)}
    uac = account.user_account_control or 0
    identity = ad_identity(account.sam_account_name, host)
    if uac & checkkit.UAC_ACCOUNTDISABLE:
        return Outcome(
            status=Status.FAIL,
            subject=host,
            message=f"the computer account {account.sam_account_name or host} is disabled",
            evidence=evidence,
            remediation=remediation.remediation(f"Enable the computer account of {host}", [
                remediation.enable_account(identity, computer=True, uac=account.user_account_control)]),
        )
    return Outcome(status=Status.PASS, subject=host, message=f"{account.sam_account_name} exists and is enabled",
                   evidence=evidence)
