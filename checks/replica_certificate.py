"""replica.certificate: each host has a certificate Hyper-V Replica can authenticate with (plain Hyper-V Replica).

With certificate authentication (`[policy] authentication = "certificate"`) the primary and the
Replica server authenticate each other over HTTPS with a computer certificate each. Microsoft lists
what the certificate must be (Set-VMReplicationServer, -CertificateThumbprint): in the computer's
Personal store (LocalMachine\\My), not expired, with both the Client Authentication and the Server
Authentication EKU and a private key, ending at a trusted root, and with the host's FQDN as subject
CN or among its DNS names (subject alternative names). On a cluster a second certificate names
the Hyper-V Replica Broker: clusters are not read yet, so the host's own FQDN is judged, and the
message says so. Revocation is not judged (the chain is built without it on the host).

Under Azure Site Recovery (`[policy] manager = "asr"`, the default) Site Recovery issues and
deploys the certificates itself when it protects a cloud, so this check skips; it also skips for
Kerberos authentication, which uses no certificate.

Facts: LocalMachine\\My as the host reads it (collect.ps1: the certificate provider's DnsNameList
and EnhancedKeyUsageList, NotBefore/NotAfter, HasPrivateKey, X509Chain.Build on the host for the
otherwise usable ones). Validity is judged by the host's own clock.

Fix: a manual step, enroll a certificate that meets the list (from the enterprise CA's computer
template with both EKUs, or your own PKI): which CA and template is the administrator's choice.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import certificates, checkkit
from offlineprep.actions.types import hyperv_host
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.remediation import manual, remediation

BROKER_NOT_JUDGED = "a cluster's Replica Broker certificate is not judged: clusters are not read"


@check(
    "replica.certificate",
    title="Each host has a certificate Hyper-V Replica can use for certificate authentication",
    severity="high",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Configure replication settings, step 4: authentication type (certificate)",
    why=(
        "With certificate authentication, each primary and Replica server proves itself with a computer certificate "
        "of its own: Client and Server Authentication, a private key, the host's FQDN, valid and ending at a trusted "
        "root. Without one, Hyper-V refuses to enable replication or the Replica server rejects the connection."
    ),
    docs={
        "Set-VMReplicationServer (-CertificateThumbprint: the certificate's requirements)":
            "https://learn.microsoft.com/powershell/module/hyper-v/set-vmreplicationserver",
        "Set up Hyper-V Replica":
            "https://learn.microsoft.com/windows-server/virtualization/hyper-v/manage/set-up-hyper-v-replica",
    },
)
def replica_certificate(ctx: CheckContext) -> Iterator[Outcome]:
    policy = ctx.site.policy
    for role in checkkit.hyperv_hosts(ctx):
        if ctx.site.manager == "asr":
            yield checkkit.skip(role.name, "Site Recovery issues and deploys the replication certificates itself "
                                           "([policy] manager = \"asr\")")
        elif policy is None or policy.authentication != "certificate":
            yield checkkit.skip(role.name, "the policy uses Kerberos authentication: no certificate is needed")
        else:
            yield judge(ctx, role.name)


def judge(ctx: CheckContext, host: str) -> Outcome:
    facts, problem = checkkit.host(ctx, host, host)
    if facts is None:
        assert problem is not None
        return problem
    if facts.certificates is None:
        return checkkit.error(host, f"{host} did not list its certificates{facts.why_unread('certificates', ctx.facts_file)}")
    fqdn = facts.computer_name or host
    found = certificates.verdicts(facts, fqdn, ctx.facts.collected_at)
    evidence = {"fqdn": fqdn, "certificates": [v.describe() for v in found]}
    if found and found[0].usable:
        cert = found[0].certificate
        return Outcome(status=Status.PASS, subject=host, evidence=evidence,
                       message=f"{cert.subject} ({cert.thumbprint}) names {fqdn}, has both EKUs and a private key, is "
                               f"valid until {cert.not_after:%Y-%m-%d} and ends at a trusted root ({BROKER_NOT_JUDGED})"
                       if cert.not_after else f"{cert.thumbprint} is usable ({BROKER_NOT_JUDGED})")
    if not found:
        what = "LocalMachine\\My holds no certificate"
    else:
        what = "no certificate in LocalMachine\\My is usable: " + "; ".join(v.describe() for v in found[:3])
        if len(found) > 3:
            what += f"; and {len(found) - 3} more"
    return Outcome(
        status=Status.FAIL, subject=host, evidence=evidence,
        message=f"{host} has no certificate for Hyper-V Replica ({fqdn}): {what}",
        remediation=remediation(f"Enroll a Hyper-V Replica certificate for {fqdn} on {host}", [manual(
            f"Enroll a computer certificate into LocalMachine\\My on {host}: subject CN or a DNS name {fqdn}, Enhanced "
            "Key Usage Client Authentication and Server Authentication, a private key, issued by a CA that every "
            "primary and Replica server trusts", hyperv_host(host))]))
