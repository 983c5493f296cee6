"""replica.certificate: each host has a certificate Hyper-V Replica can authenticate with (plain Hyper-V Replica).

With certificate authentication (`[policy] authentication = "certificate"`) the primary and the
Replica server authenticate each other over HTTPS with a computer certificate each. Microsoft lists
what the certificate must be (Set-VMReplicationServer, -CertificateThumbprint,
https://learn.microsoft.com/powershell/module/hyper-v/set-vmreplicationserver): in the computer's
Personal store (LocalMachine\\My), not expired, with both the Client Authentication and the Server
Authentication EKU and a private key, ending at a trusted root, and with the host's FQDN as subject
CN or among its DNS names (subject alternative names). Revocation is not judged (the chain is built
without it on the host).

A node of a failover cluster: the same page says "For servers that are clustered, each node must
have two certificates - one in which the subject common name (CN) or subject alternative name (DNS
Name) is the name of the node, and the other in which subject common name (CN) or subject
alternative name (DNS Name) is FQDN of the Hyper-V Replica Broker"; Microsoft's "Enable Hyper-V
Replica on a failover cluster" (Windows Server, Hyper-V Replica) asks the same on both sides: the
receiving cluster's certificates name its Replica Broker's FQDN, and "If you're sending a VM from a
cluster, you also need a certificate for the Hyper-V Replica Broker role FQDN on each primary host".
(The other site connects to the broker's client access point: Msvm_ReplicationService's
TestReplicationConnection takes "for a recovery cluster, ... the broker CAP name",
https://learn.microsoft.com/windows/win32/hyperv_v2/testreplicationconnection-msvm-replicationservice.) So each node
needs a usable certificate naming itself and a usable one naming the broker's FQDN, as the
inventory has it (docs/inventory.md: the broker's DnsName in the cluster's domain); one certificate
whose DNS names hold both serves both, and the message says which certificate covers which name.
A node whose cluster's broker is unknown (the cluster could not be read, or has no Replica Broker
role) is judged on its own FQDN and the message says why the broker was not; a standalone host has
no broker to judge.

Under Azure Site Recovery (`[policy] manager = "asr"`, the default) Site Recovery issues and
deploys the certificates itself when it protects a cloud, so this check skips; it also skips for
Kerberos authentication, which uses no certificate.

Facts: LocalMachine\\My as the host reads it (collect.ps1: the certificate provider's DnsNameList
and EnhancedKeyUsageList, NotBefore/NotAfter, HasPrivateKey, X509Chain.Build on the host for the
otherwise usable ones). Validity is judged by the host's own clock. Names compare as DNS names do
(certificates.names_host: case-insensitive, the root dot ignored); a wildcard DNS name is not taken
to name a host, as the CN "must be equal to" the FQDN.

Fix: a manual step, enroll a certificate that meets the list (from the enterprise CA's computer
template with both EKUs, or your own PKI): which CA and template is the administrator's choice.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import certificates, checkkit
from offlineprep.actions.types import hyperv_host
from offlineprep.certificates import CertificateVerdict
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import Certificate
from offlineprep.model import Outcome, Remediation, Status
from offlineprep.remediation import manual, remediation


@check(
    "replica.certificate",
    title="Each host has a certificate Hyper-V Replica can use for certificate authentication",
    severity="high",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Configure replication settings, step 4: authentication type (certificate)",
    why=(
        "With certificate authentication, each primary and Replica server proves itself with a computer certificate "
        "of its own: Client and Server Authentication, a private key, the host's FQDN, valid and ending at a trusted "
        "root; a cluster node also needs one naming the cluster's Hyper-V Replica Broker. Without one, Hyper-V "
        "refuses to enable replication or the Replica server rejects the connection."
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
    broker = checkkit.replica_broker(ctx, host)
    found = certificates.verdicts(facts, fqdn, ctx.facts.collected_at)
    evidence: dict[str, object] = {"fqdn": fqdn, "certificates": [v.describe() for v in found]}
    mine = found[0].certificate if found and found[0].usable else None
    if broker is None or broker.fqdn is None:
        remark = f" (the Replica Broker's certificate is not judged: {broker.not_known})" if broker else ""
        if broker is not None:
            evidence["replica_broker_not_judged"] = broker.not_known
        if mine is not None:
            return Outcome(status=Status.PASS, subject=host, evidence=evidence, message=usable(mine, fqdn) + remark)
        return Outcome(status=Status.FAIL, subject=host, evidence=evidence,
                       message=f"{host} has no certificate for Hyper-V Replica ({fqdn}): {store(found)}{remark}",
                       remediation=enroll(host, [fqdn]))
    brokers = certificates.verdicts(facts, broker.fqdn, ctx.facts.collected_at)
    evidence["replica_broker"] = broker.fqdn
    evidence["broker_certificates"] = [v.describe() for v in brokers]
    theirs = brokers[0].certificate if brokers and brokers[0].usable else None
    named = f"the Replica Broker {broker.fqdn} of cluster {broker.cluster}"
    if mine is not None and theirs is not None:
        if certificates.names_host(mine, broker.fqdn):  # one certificate names both
            message = usable(mine, f"{fqdn} and {named}")
        elif certificates.names_host(theirs, fqdn):
            message = usable(theirs, f"{fqdn} and {named}")
        else:
            message = f"{usable(mine, fqdn)}; {usable(theirs, named)}"
        return Outcome(status=Status.PASS, subject=host, evidence=evidence, message=message)
    if mine is None and theirs is None:
        message = (f"{host} has no certificate for Hyper-V Replica ({fqdn}), nor one for {named}, which a cluster "
                   f"node needs too: {store(found)}")
        return Outcome(status=Status.FAIL, subject=host, evidence=evidence, message=message,
                       remediation=enroll(host, [fqdn, broker.fqdn], broker))
    if mine is None:
        assert theirs is not None
        message = (f"{host} has no certificate for Hyper-V Replica ({fqdn}): {store(found)} (the one for {named} is "
                   f"there: {theirs.thumbprint})")
        return Outcome(status=Status.FAIL, subject=host, evidence=evidence, message=message,
                       remediation=enroll(host, [fqdn], broker))
    message = (f"{host} has no certificate for {named}: a cluster node needs one naming the Replica Broker as well "
               f"as one naming itself ({mine.thumbprint} names {fqdn}): {store(brokers, for_it=True)}")
    return Outcome(status=Status.FAIL, subject=host, evidence=evidence, message=message,
                   remediation=enroll(host, [broker.fqdn], broker))


def usable(cert: Certificate, names: str) -> str:
    if cert.not_after is None:
        return f"{cert.thumbprint} is usable and names {names}"
    return (f"{cert.subject} ({cert.thumbprint}) names {names}, has both EKUs and a private key, is valid until "
            f"{cert.not_after:%Y-%m-%d} and ends at a trusted root")


def store(found: list[CertificateVerdict], for_it: bool = False) -> str:
    """What LocalMachine\\My holds, the closest candidates first."""
    if not found:
        return "LocalMachine\\My holds no certificate"
    what = "no certificate in LocalMachine\\My is usable" + (" for it: " if for_it else ": ")
    what += "; ".join(v.describe() for v in found[:3])
    if len(found) > 3:
        what += f"; and {len(found) - 3} more"
    return what


def enroll(host: str, names: list[str], broker: checkkit.ReplicaBrokerOf | None = None) -> Remediation:
    if len(names) == 1:
        wanted = f"subject CN or a DNS name {names[0]}"
    else:
        wanted = (f"DNS names {' and '.join(names)} (or one certificate for each, with the name as subject CN or "
                  "DNS name)")
    text = (f"Enroll a computer certificate into LocalMachine\\My on {host}: {wanted}, Enhanced Key Usage Client "
            "Authentication and Server Authentication, a private key, issued by a CA that every primary and Replica "
            "server trusts")
    if broker is not None and broker.fqdn is not None and len(names) == 1:
        text += (f". {host} is a node of cluster {broker.cluster}: it needs a certificate naming itself and one naming "
                 f"the Replica Broker {broker.fqdn}; one whose DNS names hold both serves both")
    return remediation(f"Enroll a Hyper-V Replica certificate for {' and '.join(names)} on {host}",
                       [manual(text, hyperv_host(host))])
