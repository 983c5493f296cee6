"""Small builders: a healthy site and its facts, which each test breaks in exactly one way."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from offlineprep.engine import CheckContext, discover
from offlineprep.facts import (
    Certificate,
    ComputerAccount,
    DirectoryFacts,
    Facts,
    FirewallRule,
    HostClock,
    HostFacts,
    LocalGroup,
    NameProbe,
    PathFacts,
    PortProbe,
    Principal,
    ReplicaAuthorization,
    ReplicaConnection,
    ReplicationServer,
    ServerNames,
    ShareFacts,
    SpnHolder,
    ToolStamp,
    VirtualMachine,
)
from offlineprep.model import Finding
from offlineprep.site import Site

DOM = "S-1-5-21-100-200-300"
VMM_SID, RUNAS_SID, ADMINS_GROUP = f"{DOM}-1101", f"{DOM}-1102", f"{DOM}-1200"
UAC_SERVER_PT = 0x1000 | 0x1000000  # workstation trust + protocol transition
CHECKS = {c.id: c for c in discover(include_entry_points=False).checks}
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # every clock of the healthy site, the DC's included
SERVER_AUTH, CLIENT_AUTH = "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"
FILE_SERVERS = {"fs01.contoso.com": "10.0.0.50", "fs11.contoso.com": "10.1.0.50"}


def site(**overrides: Any) -> Site:
    data: dict[str, Any] = {
        "directory": {"server": "ldaps://dc1.contoso.com", "user": "u@contoso.com"},
        "winrm": {"transport": "basic", "scheme": "http", "user": "u"},
        "accounts": {"vmm_service": "CONTOSO\\svc-vmm", "run_as": ["CONTOSO\\svc-runas"]},
        "source": {"hosts": ["hv01.contoso.com", "hv02"], "export_path": r"\\fs01.contoso.com\ASRExport"},
        "target": {"hosts": ["hv11.contoso.com"], "import_path": r"\\fs11.contoso.com\ASRImport"},
        "policy": {"name": "Gold", "host_os": "Windows Server 2012 R2", "authentication": "certificate",
                   "copy_frequency": "5m", "recovery_point_retention_hours": 24,
                   "app_consistent_snapshot_frequency_hours": 4},
    }
    for key, value in overrides.items():
        table, _, field = key.partition("__")
        if field:
            data.setdefault(table, {})[field] = value
        else:
            data[table] = value
    return Site.model_validate(data)


def computer(name: str, sid_rid: int, adtd: list[str] | None = None, uac: int = UAC_SERVER_PT,
             os: str = "Windows Server 2012 R2 Datacenter") -> ComputerAccount:
    short = name.split(".")[0].upper()
    return ComputerAccount(
        query=name, found=True, distinguished_name=f"CN={short},CN=Computers,DC=contoso,DC=com",
        sam_account_name=f"{short}$", dns_host_name=f"{short.lower()}.contoso.com", object_sid=f"{DOM}-{sid_rid}",
        user_account_control=uac, allowed_to_delegate_to=adtd or [], operating_system=os,
        service_principal_names=[f"HOST/{short}", f"HOST/{short.lower()}.contoso.com"],
    )


def directory() -> DirectoryFacts:
    both = ["cifs/fs01.contoso.com", "cifs/FS01", "cifs/fs11.contoso.com", "cifs/FS11"]
    computers = {
        "hv01.contoso.com": computer("hv01.contoso.com", 2001, both),
        "hv02": computer("hv02", 2002, both),
        "hv11.contoso.com": computer("hv11.contoso.com", 2011, ["cifs/fs11.contoso.com", "cifs/fs11"]),
        "fs01.contoso.com": computer("fs01.contoso.com", 3001, uac=0x1000),
        "fs11.contoso.com": computer("fs11.contoso.com", 3011, uac=0x1000),
    }
    return DirectoryFacts(
        server="ldaps://dc1.contoso.com", domain_dns_name="contoso.com", domain_sid=DOM,
        computers=computers,
        principals={
            "CONTOSO\\svc-vmm": Principal(query="CONTOSO\\svc-vmm", found=True, sam_account_name="svc-vmm",
                                          object_sid=VMM_SID, user_account_control=0x200,
                                          token_group_sids=[f"{DOM}-513", ADMINS_GROUP], token_groups_read=True,
                                          distinguished_name="CN=svc-vmm,DC=contoso,DC=com"),
            "CONTOSO\\svc-runas": Principal(query="CONTOSO\\svc-runas", found=True, sam_account_name="svc-runas",
                                            object_sid=RUNAS_SID, user_account_control=0x200,
                                            token_group_sids=[f"{DOM}-513"], token_groups_read=True,
                                            distinguished_name="CN=svc-runas,DC=contoso,DC=com"),
        },
        spn_holders={
            "fs01.contoso.com": [SpnHolder(spn="HOST/fs01.contoso.com", distinguished_name=computers[
                "fs01.contoso.com"].distinguished_name or "", sam_account_name="FS01$")],
            "fs11.contoso.com": [SpnHolder(spn="HOST/fs11.contoso.com", distinguished_name=computers[
                "fs11.contoso.com"].distinguished_name or "", sam_account_name="FS11$")],
        },
        sid_names={ADMINS_GROUP: "CONTOSO\\HV-Admins"},
        current_time=NOW, current_time_observed_at=NOW,
    )


NTFS_OK = f"O:BAG:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;{VMM_SID})(A;OICI;0x1301bf;;;{RUNAS_SID})"
SHARE_OK = f"O:BAG:SYD:(A;;FA;;;{VMM_SID})(A;;0x1301bf;;;{RUNAS_SID})"


def file_server(name: str, share: str, path: str, ip: str) -> HostFacts:
    return HostFacts(
        name=name, reachable=True, computer_name=name.split(".")[0].upper() + ".contoso.com",
        os_caption="Microsoft Windows Server 2016 Standard", hyperv_installed=False, vmms_running=False,
        ip_addresses=[ip],
        # Windows' defaults on a member server: Domain Admins and the local Administrator (-500) in
        # Administrators; INTERACTIVE, Authenticated Users and Domain Users in Users
        local_groups=[LocalGroup(sid="S-1-5-32-544", name="Administrators",
                                 member_sids=[f"{DOM}-512", "S-1-5-21-900-901-902-500", ADMINS_GROUP]),
                      LocalGroup(sid="S-1-5-32-547", name="Power Users", member_sids=[]),
                      LocalGroup(sid="S-1-5-32-545", name="Users", member_sids=["S-1-5-4", "S-1-5-11", f"{DOM}-513"])],
        paths=[PathFacts(path=path, local_path=f"D:\\{share}", exists=True, is_directory=True, ntfs_sddl=NTFS_OK,
                         share=ShareFacts(name=share, local_path=f"D:\\{share}", sddl=SHARE_OK), share_found=True,
                         free_bytes=500 * 2**30, total_bytes=1000 * 2**30)],
        domain_role=3, clock=clock(), time_source_type="NT5DS", server_names=ServerNames(),
    )


def clock(offset_seconds: float = 0.0) -> HostClock:
    return HostClock(utc=NOW + timedelta(seconds=offset_seconds), observed_at=NOW, uncertainty_seconds=0.5)


def probe(name: str, address: str, state: str = "open") -> NameProbe:
    return NameProbe(name=name, addresses=[address], connections=[PortProbe(address=address, state=state)])  # type: ignore[arg-type]


def certificate(fqdn: str, **changes: Any) -> Certificate:
    """A certificate Hyper-V Replica can use for `fqdn`; `changes` break it."""
    # a SHA-1 thumbprint is 40 hexadecimal digits (X509Certificate2.Thumbprint), as the Replica fix requires
    fields: dict[str, Any] = {"thumbprint": hashlib.sha1(fqdn.encode()).hexdigest().upper(), "subject": f"CN={fqdn}",
                              "dns_names": [fqdn], "ekus": [SERVER_AUTH, CLIENT_AUTH], "not_before": NOW - timedelta(30),
                              "not_after": NOW + timedelta(335), "has_private_key": True, "chain_ok": True}
    return Certificate(**{**fields, **changes})


def hyperv(name: str, ip: str, vms: int = 2) -> HostFacts:
    return HostFacts(
        name=name, reachable=True, computer_name=name.split(".")[0].upper() + ".contoso.com",
        os_caption="Microsoft Windows Server 2012 R2 Datacenter", os_version="6.3.9600", hyperv_installed=True,
        vmms_running=True, ip_addresses=[ip],
        vms=[VirtualMachine(name=f"{name}-vm{i}", disk_bytes=40 * 2**30) for i in range(vms)],
        replication_server=ReplicationServer(
            enabled=True, kerberos_port=8083, certificate_port=8084, allowed_authentication="CertificateAndKerberos",
            allowed_from_any_server=False, default_storage_location="D:\\Replica", default_storage_exists=True,
            certificate_thumbprint=certificate(fqdn(name)).thumbprint,
            authorization_entries=[ReplicaAuthorization(allowed_primary_server="*.contoso.com",
                                                        storage_location="D:\\Replica", trust_group="DEFAULT",
                                                        storage_exists=True)]),
        firewall_rules=[FirewallRule(name="ASR-HVR-8084", enabled=True, direction="inbound", action="allow",
                                     protocol="TCP", local_ports=["8084"])],
        domain_role=3, vmms_status="Running", clock=clock(), time_source_type="NT5DS",
        probes=[probe(server, address) for server, address in FILE_SERVERS.items()], probe_seconds=0.01,
        certificates=[certificate(fqdn(name))],
        replica_connections=[ReplicaConnection(server="hv11.contoso.com", port=8084, authentication="Certificate",
                                               thumbprint=certificate(fqdn(name)).thumbprint, state="connected")],
    )


def fqdn(name: str) -> str:
    return name.split(".")[0].upper() + ".contoso.com"


def hosts() -> dict[str, HostFacts]:
    return {
        "hv01.contoso.com": hyperv("hv01.contoso.com", "10.0.0.1"),
        "hv02": hyperv("hv02", "10.0.0.2"),
        "hv11.contoso.com": hyperv("hv11.contoso.com", "10.1.0.11"),
        "fs01.contoso.com": file_server("fs01.contoso.com", "ASRExport", r"\\fs01.contoso.com\ASRExport", "10.0.0.50"),
        "fs11.contoso.com": file_server("fs11.contoso.com", "ASRImport", r"\\fs11.contoso.com\ASRImport", "10.1.0.50"),
    }


def facts(directory_facts: DirectoryFacts | None = None, host_facts: dict[str, HostFacts] | None = None) -> Facts:
    return Facts(tool=ToolStamp(version="test"), directory=directory_facts or directory(),
                 hosts=host_facts if host_facts is not None else hosts())


def run(check_id: str, the_site: Site | None = None, the_facts: Facts | None = None) -> list[Finding]:
    from offlineprep.engine import run_check

    return run_check(CHECKS[check_id], CheckContext(site=the_site or site(), facts=the_facts or facts()))


def statuses(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.subject + (f"->{f.target}" if f.target else "") + (f" as {f.account}" if f.account else ""),
             f.status.value) for f in findings}


def by_subject(findings: list[Finding], subject: str, target: str | None = None) -> Finding:
    return next(f for f in findings if f.subject == subject and (target is None or f.target == target))


BUILTIN = Path(__file__).resolve().parents[2] / "checks"
