"""replica.certificate: each host has a certificate Hyper-V Replica can authenticate with (plain Hyper-V Replica).

With certificate authentication (`[policy] authentication = "certificate"`) the primary and the
Replica server authenticate each other over HTTPS with a computer certificate each. Microsoft lists
what the certificate must be (Set-VMReplicationServer, -CertificateThumbprint,
https://learn.microsoft.com/powershell/module/hyper-v/set-vmreplicationserver): in the computer's
Personal store (LocalMachine\\My), not expired, with both the Client Authentication and the Server
Authentication EKU and a private key, ending at a trusted root, and with the host's FQDN as subject
CN or among its DNS names (subject alternative names), not revoked (see Issue 19 below).

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
otherwise usable ones). Validity is judged by the host's own clock.

Issue 19: the certificate judged is the configured `CertificateThumbprint` (Get-VMReplicationServer)
where one is set: present in LocalMachine\\My and usable, another usable certificate does not stand in
for it; the names (the host's, the broker's on a cluster node) are each carried by it or another usable
certificate. Revocation is judged as Hyper-V Replica checks it: the chain is built in the machine's
context with revocation online (each CRL download bounded to 3 s) unless DisableCertRevocationCheck = 1
under HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Virtualization\\Replication (KB 2767928); a
revoked certificate fails, one whose CRL could not be reached fails saying so. Mutual authentication:
each source must hold its targets' issuing roots in LocalMachine\\Root, and each target its sources'.

Names compare as DNS names do
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
from offlineprep.facts import Certificate, HostFacts
from offlineprep.inventory import Role
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
        "Hyper-V BPA: the configured certificate is not installed on the Replica server or cluster nodes":
            "https://github.com/MicrosoftDocs/windowsserverdocs/blob/main/WindowsServerDocs/virtualization/hyper-v/"
            "best-practices-analyzer/Certificate-based-authentication-configured-but-certificate-not-installed.md",
        "X509Chain(useMachineContext)":
            "https://learn.microsoft.com/dotnet/api/system.security.cryptography.x509certificates.x509chain.-ctor",
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
    rs = facts.replication_server
    if rs is not None and rs.certificate_thumbprint:
        outcome = judge_configured(ctx, host, facts, rs.certificate_thumbprint)
    else:
        outcome = judge_store(ctx, host, facts)
    if outcome.status is not Status.PASS:
        return outcome
    return trusts_peers(ctx, host, facts, outcome)


def chosen(ctx: CheckContext, name: str) -> Certificate | None:
    """The certificate a host authenticates with: its configured CertificateThumbprint, else its first usable one."""
    facts = ctx.facts.find_host(name) if ctx.facts.hosts is not None else None
    if facts is None or not facts.reachable or facts.certificates is None:
        return None
    rs = facts.replication_server
    if rs is not None and rs.certificate_thumbprint:
        return certificates.configured(facts, rs.certificate_thumbprint)
    return certificates.usable(facts, facts.computer_name or name, ctx.facts.collected_at)


def trusts_peers(ctx: CheckContext, host: str, facts: HostFacts, passed: Outcome) -> Outcome:
    """Mutual authentication: a source host validates its Replica server's certificate and the Replica
    server the source's, each to a root of its own LocalMachine\\Root."""
    role = ctx.inventory.host(host)
    peers: list[str] = []
    if role is not None and Role.SOURCE in role.roles:
        peers += ctx.inventory.target_hosts
    if role is not None and Role.TARGET in role.roles:
        peers += ctx.inventory.source_hosts
    found = [(peer, cert) for peer in peers if (cert := chosen(ctx, peer)) is not None]
    missing = certificates.untrusted_roots(facts, found)
    evidence = {**passed.evidence, "trusted_roots_read": facts.trusted_roots is not None}
    if not missing:
        return passed.model_copy(update={"evidence": evidence})
    message = (f"{host} does not trust the issuing root of its peers' certificates (not in LocalMachine\\Root): "
               + "; ".join(missing) + ": Hyper-V Replica authenticates both sides, so the connection is refused")
    text = (f"Import the issuing root certificate(s) {', '.join(m.rsplit(' ', 1)[-1] for m in missing)} into "
            f"LocalMachine\\Root on {host} (Group Policy: Trusted Root Certification Authorities, or certutil -addstore "
            "Root)")
    return Outcome(status=Status.FAIL, subject=host, evidence={**evidence, "untrusted_roots": missing}, message=message,
                   remediation=remediation(f"Trust the peers' root on {host}", [manual(text, hyperv_host(host))]))


def judge_configured(ctx: CheckContext, host: str, facts: HostFacts, thumbprint: str) -> Outcome:
    """The certificate Hyper-V Replica uses is the configured one (Get-VMReplicationServer
    CertificateThumbprint), not any usable one of the store: it must be in LocalMachine\\My, valid, with a
    private key, both EKUs and a chain (revocation included) to a trusted root. It names the host or, on
    a cluster node, the broker; every name the host answers to (its FQDN and its broker's) is named by
    it or by another usable certificate of the store (Microsoft's two certificates per node)."""
    fqdn = facts.computer_name or host
    broker = checkkit.replica_broker(ctx, host)
    evidence: dict[str, object] = {"fqdn": fqdn, "configured_thumbprint": thumbprint}
    cert = certificates.configured(facts, thumbprint)
    names = [fqdn] + ([broker.fqdn] if broker is not None and broker.fqdn else [])
    store_outcome = judge_store(ctx, host, facts)
    store_outcome = store_outcome.model_copy(update={"evidence": {**store_outcome.evidence, **evidence}})
    if cert is None and store_outcome.status is not Status.PASS:
        return store_outcome  # nothing in the store serves either: the store's own account says what is missing
    if cert is None:
        return Outcome(status=Status.FAIL, subject=host, evidence=evidence,
                       message=f"the configured CertificateThumbprint {thumbprint} of {host} is not in LocalMachine\\My "
                               "(Hyper-V Replica cannot authenticate with it, although another certificate could serve: "
                               "set it with Set-VMReplicationServer -CertificateThumbprint)",
                       remediation=enroll(host, names, broker))
    now = certificates.host_now(facts, ctx.facts.collected_at)
    named = next((n for n in names if certificates.names_host(cert, n)), fqdn)
    verdict = certificates.judge(cert, named, now)
    evidence["certificate"] = verdict.describe()
    if cert.revocation_checked is False:
        evidence["revocation"] = "not checked: DisableCertRevocationCheck = 1"
    if verdict.problems and store_outcome.status is not Status.PASS:
        return store_outcome  # nothing in the store serves either: the store's own account says what is missing
    if verdict.problems:
        return Outcome(status=Status.FAIL, subject=host, evidence=evidence,
                       message=f"the configured certificate {cert.subject} ({thumbprint}) of {host} cannot serve Hyper-V "
                               "Replica: " + "; ".join(verdict.problems),
                       remediation=enroll(host, names, broker))
    if not any(certificates.names_host(cert, n) for n in names):
        return Outcome(status=Status.FAIL, subject=host, evidence=evidence,
                       message=f"the configured certificate {cert.subject} ({thumbprint}) of {host} names neither "
                               + " nor ".join(names) + ": Hyper-V Replica presents it for this host",
                       remediation=enroll(host, names, broker))
    # every name the host answers to is carried by the configured certificate or another usable one: as the store
    return store_outcome


def judge_store(ctx: CheckContext, host: str, facts: HostFacts) -> Outcome:
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
