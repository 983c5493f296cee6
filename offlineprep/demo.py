"""The built-in lab, wired for the commands: its directory, VMM server, cluster and hosts, the demo
site file, and the collectors and connections that reach them. `offlineprep preflight --demo` runs
the pipeline against it; `offlineprep demo --apply` (scripts/demo.sh --apply) runs the plan / apply /
revert loop of docs/apply.md against one lab, in one process, so every command sees the changes of
the one before (the loop is the command line's: `offlineprep/cli.py`).

The lab is a realistic small site, lab.test, managed by VMM: the site file names the VMM server and
its clouds, not the hosts. VMM (vmm01.lab.test) puts two standalone source hosts and a two-node
failover cluster (HVC1, with a Hyper-V Replica Broker) in cloud Gold, one target host and a two-node
target cluster (HVR, with its Replica Broker HVR-BRK) in cloud Recovery; each cluster node's own
answer says its cluster and broker. The export path is on a clustered file server: fs01.lab.test is the client access point of
the file server role FS01 on the two-node cluster FSC1 (its share scoped to FS01, its own computer
object FS01$ holding HOST/fs01, node FSC1-N1 answering WinRM for it: docs/clusters.md); a standalone
file server, FS11, holds the import path. The mistakes that make offline initial replication fail
in real life:
- HV02 has Kerberos-only constrained delegation (no "use any authentication protocol");
- HV01 lacks `cifs/fs11.lab.test` (only the short `cifs/FS11` is there, the path uses the FQDN);
- the export share on FS01 does not grant the VMM service account anything;
- the Run As account can only read the import folder, and the import volume is short of space;
- the import share sits on FS11, which also runs Hyper-V;
- the policy's app-consistent snapshot frequency is out of range;
- HV02's clock runs 7 minutes ahead of the domain controller's (Kerberos allows 5);
- HV01's DNS still holds the address of the retired file server for fs01.lab.test;
- the Virtual Machine Management service (vmms) on HV11 is stopped;
- delegation was set up on one cluster node only: HVC1-N2 may delegate to nothing
  (and with HV11's vmms stopped, Test-VMReplicationConnection from every primary to HV11 cannot connect).
The real collectors run: ldap3 against an in-process directory (ldap3's mock strategy with the AD
schema) and pywinrm against a simulated VMM server, cluster and Windows hosts on a loopback
WS-Management endpoint (discovery, then collection: one PowerShell per machine).
"""

from __future__ import annotations

import atexit
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from offlineprep.apply.runner import Connections
from offlineprep.lab.cluster import ClusterNode, SimulatedCluster
from offlineprep.lab.directory import LabDirectory
from offlineprep.lab.vmm import Cloud, Host, HostCluster, HostGroup, RunAsAccount, SimulatedVmm
from offlineprep.lab.windows import (
    SimAuthorization,
    SimCertificate,
    SimClusterRole,
    SimFileServerCluster,
    SimFolder,
    SimGroup,
    SimLookup,
    SimRule,
    SimShare,
    SimulatedHost,
    SimVM,
    default_groups,
)
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.pipeline import Collectors
from offlineprep.site import Site

WINRM_PASSWORD_ENV = "OFFLINEPREP_DEMO_WINRM_PASSWORD"
LDAP_PASSWORD_ENV = "OFFLINEPREP_DEMO_LDAP_PASSWORD"
# the accounts `apply --demo` makes its changes as (docs/apply.md: apply_user, apply_password_env)
APPLY_USER_WINRM = "LAB\\svc-apply"
WINRM_APPLY_PASSWORD_ENV = "OFFLINEPREP_DEMO_WINRM_APPLY_PASSWORD"
LDAP_APPLY_PASSWORD_ENV = "OFFLINEPREP_DEMO_LDAP_APPLY_PASSWORD"
GIB = 2**30
REPLICAS = "E:\\Replicas"  # where the demo's Replica servers keep replicas (the tests' own settings use D:\Replica)


@dataclass
class DemoLab:
    site: Site
    collectors: Collectors
    stop: Callable[[], None]
    endpoint: WinRMEndpoint
    directory: LabDirectory | None = None

    def connections(self) -> Connections:
        """Where `apply --demo` and `revert --demo` send changes: the lab's directory and hosts."""
        assert self.directory is not None
        endpoint = self.endpoint
        return Connections(
            directory_connect=self.directory.connect,
            host_factory=lambda config, password: endpoint.protocol_factory(config.timeout_seconds, password=password,
                                                                          username=config.user),
            collectors=self.collectors)


def build_directory() -> tuple[LabDirectory, dict[str, str]]:
    d = LabDirectory()
    sids: dict[str, str] = {}
    sids["hv-admins"] = d.group("HV-Admins")
    d.group("Protected Users", rid=525)
    sids["svc-vmm"] = d.user("svc-vmm", groups=[sids["hv-admins"]])
    sids["svc-runas"] = d.user("svc-runas")
    pt = 0x1000 | 0x1000000  # member server + "use any authentication protocol"
    all_cifs = ["cifs/fs01.lab.test", "cifs/FS01", "cifs/fs11.lab.test", "cifs/FS11"]
    sids["hv01"] = d.computer("HV01", uac=pt, delegate_to=["cifs/fs01.lab.test", "cifs/FS01", "cifs/FS11"])
    sids["hv02"] = d.computer("HV02", uac=0x1000, delegate_to=all_cifs)
    sids["hv11"] = d.computer("HV11", uac=pt, delegate_to=["cifs/fs11.lab.test", "cifs/FS11"])
    sids["hvc1-n1"] = d.computer("HVC1-N1", uac=pt, delegate_to=all_cifs)
    sids["hvc1-n2"] = d.computer("HVC1-N2", uac=0x1000)  # delegation set up on the first node only
    sids["hvc1-brk"] = d.computer("HVC1-BRK")  # the Replica Broker's client access point (its computer object)
    for node in ("HVR-N1", "HVR-N2"):  # the target cluster: its nodes delegate to the import path's server
        sids[node.lower()] = d.computer(node, uac=pt, delegate_to=["cifs/fs11.lab.test", "cifs/FS11"])
    sids["hvr-brk"] = d.computer("HVR-BRK")
    sids["vmm01"] = d.computer("VMM01")
    # FS01 is the client access point of a clustered file server role: its computer object (a virtual computer
    # object) holds HOST/FS01 and HOST/fs01.lab.test; the nodes and the cluster name have objects of their own
    sids["fs01"] = d.computer("FS01", os="Windows Server 2016 Standard", os_version="10.0 (14393)")
    sids["fsc1"] = d.computer("FSC1")
    sids["fsc1-n1"] = d.computer("FSC1-N1", os="Windows Server 2016 Standard", os_version="10.0 (14393)")
    sids["fsc1-n2"] = d.computer("FSC1-N2", os="Windows Server 2016 Standard", os_version="10.0 (14393)")
    sids["fs11"] = d.computer("FS11", os="Windows Server 2016 Datacenter", os_version="10.0 (14393)")
    return d, sids


def build_hosts(sids: dict[str, str]) -> dict[str, SimulatedHost]:
    dom = "S-1-5-21-1111-2222-3333"
    admins = [f"{dom}-512", sids["hv-admins"]]
    replica_rules = [SimRule("VIRT-HVRHTTPSL-In-TCP-NoScope", ["443"], enabled=False)]

    # each host's replication certificate (a cluster's nodes share one naming its broker and its nodes); fixed
    # dates, so that its thumbprint (made from them) is the same in every run
    issued, expires = datetime(2026, 1, 1, tzinfo=UTC), datetime(2036, 1, 1, tzinfo=UTC)
    certificates = {name: SimCertificate(f"CN={name}.lab.test", dns_names=[f"{name}.lab.test"], not_before=issued,
                                         not_after=expires) for name in ("HV01", "HV02", "HV11")}
    for cluster, nodes in (("HVC1", ("HVC1-N1", "HVC1-N2")), ("HVR", ("HVR-N1", "HVR-N2"))):
        shared = SimCertificate(f"CN={cluster}-BRK.lab.test", dns_names=[f"{n}.lab.test" for n in (f"{cluster}-BRK",
                                                                                                   *nodes)],
                                not_before=issued, not_after=expires)
        certificates.update(dict.fromkeys(nodes, shared))
    # the Replica cluster HVR authorizes the standalone primaries and the source cluster by its Replica Broker
    authorized = [SimAuthorization(f"{n.lower()}.lab.test", REPLICAS) for n in ("HV01", "HV02", "HVC1-BRK")]

    def hyperv(name: str, ip: str, vms: list[SimVM], rules: list[SimRule]) -> SimulatedHost:
        return SimulatedHost(
            f"{name}.lab.test", os_caption="Microsoft Windows Server 2012 R2 Datacenter", os_version="6.3.9600",
            os_build="9600", hyperv_installed=True, ip_addresses=[ip], vms=vms,
            replication={"enabled": True, "kerberos_port": 8083, "certificate_port": 8084,
                         "allowed_authentication": "Certificate", "allowed_from_any_server": name == "HV11",
                         "default_storage_location": REPLICAS,
                         "certificate_thumbprint": certificates[name].thumbprint},
            firewall=rules, groups=default_groups(admins), certificates=[certificates[name]],
            replica_authorizations=list(authorized) if name.startswith("HVR-") else [],
            directories=[REPLICAS],
        )

    ntfs_export = (f"O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{sids['svc-vmm']})"
                   f"(A;OICI;0x1301bf;;;{sids['svc-runas']})")
    ntfs_import = (f"O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{sids['svc-vmm']})"
                   f"(A;OICI;0x1200a9;;;{sids['svc-runas']})")
    # fs01.lab.test reaches node FSC1-N1, which owns the file server role FS01 (its IP Address resource 10.10.0.21)
    fs01 = SimulatedHost(
        "FSC1-N1.lab.test", ip_addresses=["10.10.0.41"], groups=default_groups(admins),
        shares=[SimShare("ASRExport", "E:\\ASRExport",
                         f"O:SYG:SYD:(A;;0x1200a9;;;WD)(A;;0x1301bf;;;{sids['svc-runas']})", scope="FS01")],
        folders=[SimFolder("E:\\ASRExport", ntfs_export, free_bytes=2048 * GIB, total_bytes=4096 * GIB)],
        file_server_cluster=SimFileServerCluster("FSC1", "lab.test", {"FSC1-N1": ["10.10.0.41"],
                                                                      "FSC1-N2": ["10.10.0.42"]},
                                                 [SimClusterRole("FS01", "FS01", addresses=["10.10.0.21"])]),
    )
    fs11 = SimulatedHost(
        "FS11.lab.test", os_caption="Microsoft Windows Server 2016 Datacenter", hyperv_installed=True,
        ip_addresses=["10.20.0.21"], groups=[SimGroup("S-1-5-32-544", "Administrators", admins),
                                             SimGroup("S-1-5-32-547", "Power Users", [])],
        shares=[SimShare("ASRImport", "F:\\ASRImport",
                         f"O:SYG:SYD:(A;;FA;;;{sids['svc-vmm']})(A;;0x1301bf;;;{sids['svc-runas']})(A;;FA;;;BA)")],
        folders=[SimFolder("F:\\ASRImport", ntfs_import, free_bytes=250 * GIB, total_bytes=2048 * GIB)],
    )
    hv01 = hyperv("HV01", "10.10.0.11", [SimVM("SQL01", 180 * GIB), SimVM("APP01", 60 * GIB)], replica_rules)
    hv01.dns = {"fs01.lab.test": SimLookup(["10.10.0.20"])}  # a stale record: the retired file server's address
    hv02 = hyperv("HV02", "10.10.0.12", [SimVM("WEB01", 40 * GIB), SimVM("WEB02", 40 * GIB)], replica_rules)
    hv02.clock_offset_seconds = 7 * 60
    hv11 = hyperv("HV11", "10.20.0.11", [], [*replica_rules, SimRule("ASR-Replica-8084", ["8084"])])
    hv11.vmms_status = "Stopped"
    return {
        "hvc1-n1.lab.test": hyperv("HVC1-N1", "10.10.0.31", [SimVM("ERP01", 120 * GIB)], replica_rules),
        "hvc1-n2.lab.test": hyperv("HVC1-N2", "10.10.0.32", [SimVM("ERP02", 120 * GIB)], replica_rules),
        "hvr-n1.lab.test": hyperv("HVR-N1", "10.20.0.31", [], [*replica_rules, SimRule("ASR-Replica-8084", ["8084"])]),
        "hvr-n2.lab.test": hyperv("HVR-N2", "10.20.0.32", [], [*replica_rules, SimRule("ASR-Replica-8084", ["8084"])]),
        "hv01.lab.test": hv01, "hv02.lab.test": hv02, "hv11.lab.test": hv11, "fs01.lab.test": fs01,
        "fs11.lab.test": fs11,
    }


def build_clusters() -> list[SimulatedCluster]:
    """The source cluster HVC1 and the target cluster HVR, each with its Hyper-V Replica Broker."""
    source = SimulatedCluster(Name="HVC1", Domain="lab.test", nodes=[ClusterNode("HVC1-N1"), ClusterNode("HVC1-N2")])
    source.add_broker("HVC1-BRK")
    target = SimulatedCluster(Name="HVR", Domain="lab.test", nodes=[ClusterNode("HVR-N1"), ClusterNode("HVR-N2")])
    target.add_broker("HVR-BRK")
    return [source, target]


def build_vmm() -> tuple[SimulatedVmm, SimulatedCluster]:
    """VMM as the demo's administrators set it up: cloud Gold holds the production host group (two
    standalone hosts, and the cluster HVC1 below it), cloud Recovery the DR host group (HV11 and the
    cluster HVR)."""
    cluster = build_clusters()[0]
    production = HostGroup("Production", hosts=[Host("hv01.lab.test"), Host("hv02.lab.test")], children=[
        HostGroup("Clusters", clusters=[HostCluster("HVC1.lab.test", [Host("hvc1-n1.lab.test"),
                                                                       Host("hvc1-n2.lab.test")])])])
    recovery = HostGroup("DR", hosts=[Host("hv11.lab.test")], clusters=[
        HostCluster("HVR.lab.test", [Host("hvr-n1.lab.test"), Host("hvr-n2.lab.test")])])
    vmm = SimulatedVmm(computer_name="vmm01.lab.test", domain="lab.test", service_start_name="LAB\\svc-vmm",
                       clouds=[Cloud("Gold", [production]), Cloud("Recovery", [recovery])],
                       host_groups=[production, recovery], run_as=[RunAsAccount("Host Admins", "svc-runas", "LAB")])
    return vmm, cluster


def demo_site(directory: LabDirectory, apply_dn: str | None = None) -> Site:
    ldap = directory.config().model_dump(exclude_none=True)
    winrm = {"transport": "basic", "scheme": "http", "user": "LAB\\svc-preflight",
             "password_env": WINRM_PASSWORD_ENV, "concurrency": 8, "timeout_seconds": 15}
    if apply_dn:
        ldap.update(apply_user=apply_dn, apply_password_env=LDAP_APPLY_PASSWORD_ENV)
        winrm.update(apply_user=APPLY_USER_WINRM, apply_password_env=WINRM_APPLY_PASSWORD_ENV)
    return Site.model_validate({
        "directory": ldap,
        "winrm": winrm,
        "vmm": {"server": "vmm01.lab.test", "source_cloud": "Gold", "target_cloud": "Recovery",
                "run_as": ["Host Admins"]},
        "source": {"export_path": r"\\fs01.lab.test\ASRExport"},
        "target": {"import_path": r"\\fs11.lab.test\ASRImport"},
        "policy": {"name": "Gold-Offline", "host_os": "Windows Server 2012 R2", "authentication": "certificate",
                   "copy_frequency": "5m", "recovery_point_retention_hours": 24,
                   "app_consistent_snapshot_frequency_hours": 16, "compression": True,
                   "delete_replica_vm": False, "initial_replication": "offline"},
    })


def start_demo() -> DemoLab:
    from offlineprep.collect.directory import collect_directory
    from offlineprep.collect.hosts import collect_hosts
    from offlineprep.collect.remote import run_remote

    directory, sids = build_directory()
    winrm_password = "lab-winrm-password"
    apply_password = "lab-apply-password"
    apply_dn = directory.bind_account("svc-apply", apply_password)
    vmm, _ = build_vmm()
    clusters = build_clusters()
    hosts = build_hosts(sids)
    for each in clusters:  # a node's own answer says its cluster (section `cluster`)
        for node in each.nodes:
            hosts[each.node_fqdn(node)].cluster = each
    endpoint = WinRMEndpoint(hosts, username="LAB\\svc-preflight", password=winrm_password,
                             other_accounts={APPLY_USER_WINRM: apply_password},
                             vmm={"vmm01.lab.test": vmm}, clusters={c.fqdn: c for c in clusters}).start()
    os.environ.setdefault(LDAP_PASSWORD_ENV, directory.password)
    os.environ.setdefault(WINRM_PASSWORD_ENV, winrm_password)
    os.environ.setdefault(LDAP_APPLY_PASSWORD_ENV, apply_password)
    os.environ.setdefault(WINRM_APPLY_PASSWORD_ENV, apply_password)
    site = demo_site(directory, apply_dn)
    assert site.winrm is not None
    collectors = Collectors(
        directory=functools.partial(collect_directory, connect=directory.connect),
        hosts=functools.partial(collect_hosts, session_factory=endpoint.protocol_factory(site.winrm.timeout_seconds)),
        remote=functools.partial(run_remote, session_factory=endpoint.protocol_factory(site.winrm.timeout_seconds)),
    )
    return DemoLab(site=site, collectors=collectors, stop=endpoint.stop, endpoint=endpoint, directory=directory)


_SHARED: DemoLab | None = None


def shared_lab() -> DemoLab:
    """One lab for the whole process: `plan --demo`, `apply --demo` and `revert --demo` run one after
    the other in one process (`offlineprep demo --apply`) see each other's changes. Separate processes each
    start a lab of their own, as it was built."""
    global _SHARED
    if _SHARED is None:
        _SHARED = start_demo()
        atexit.register(_SHARED.stop)
    return _SHARED
