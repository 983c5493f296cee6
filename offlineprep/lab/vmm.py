"""A simulated VMM management server: data in, the VMM script's JSON answer out.

`SimulatedVmm.answer(request)` does what scripts/vmm.ps1 does on a real VMM server, step by step
and with the same cmdlets' semantics (a cloud's host groups, the groups below them, the hosts and
host clusters of each group, the nodes of each cluster, Run As accounts by name, SCVMMService's
StartName), from objects whose attribute names are the members the script reads
(tests/fixtures/vmm_members.json; tests/discovery/test_vmm_simulator.py holds them to it).

Failing shapes: `refuse_access` answers as a VMM that lets the connection in but refuses the user
(the script records the ErrorRecord of Get-SCVMMServer: its message, its category and its
FullyQualifiedErrorId); `service_missing` as a machine without SCVMMService. The exact text a real
VMM gives a user in no VMM user role is not verified here (docs/inventory.md, "Not verified").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# what the simulator says when it refuses the user: the cmdlet's ErrorRecord, as the script records it
ACCESS_DENIED = {
    "message": "You do not have permission to access one or more of the objects required by this operation. "
               "Contact your Virtual Machine Manager administrator to verify that you are a member of a user role "
               "with access to these objects. (Error ID: 1604)",
    "category": "PermissionDenied",
    "error_id": "1604,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.ConnectServerCmdlet",
}


@dataclass
class Host:
    """Get-SCVMHost's object: Name, ComputerName, VirtualizationPlatform, OperatingSystem."""

    Name: str
    ComputerName: str = ""
    VirtualizationPlatform: str = "HyperV"
    OperatingSystem: str = "Windows Server 2016 Datacenter"

    def __post_init__(self) -> None:
        self.ComputerName = self.ComputerName or self.Name


@dataclass
class HostCluster:
    """Get-SCVMHostCluster's object; its nodes are what Get-SCVMHost -VMHostCluster returns."""

    Name: str
    Nodes: list[Host] = field(default_factory=list)
    HostGroup: str = ""


@dataclass
class HostGroup:
    Name: str
    Path: str = ""
    hosts: list[Host] = field(default_factory=list)  # standalone hosts placed in this group
    clusters: list[HostCluster] = field(default_factory=list)
    children: list[HostGroup] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.Path = self.Path or f"All Hosts\\{self.Name}"
        for child in self.children:
            if not child.Path or child.Path == f"All Hosts\\{child.Name}":
                child.Path = f"{self.Path}\\{child.Name}"


@dataclass
class Cloud:
    Name: str
    HostGroup: list[HostGroup] = field(default_factory=list)


@dataclass
class RunAsAccount:
    Name: str
    UserName: str
    Domain: str = ""


@dataclass
class SimulatedVmm:
    computer_name: str  # the VMM server's DNS name (Win32_ComputerSystem DNSHostName.Domain)
    domain: str | None = None
    service_start_name: str = "LocalSystem"  # Win32_Service.StartName of SCVMMService
    clouds: list[Cloud] = field(default_factory=list)
    host_groups: list[HostGroup] = field(default_factory=list)  # every group, top level (children reachable)
    run_as: list[RunAsAccount] = field(default_factory=list)
    refuse_access: bool = False
    service_missing: bool = False

    # ------------------------------------------------------------------ the cmdlets, as VMM answers them

    def _all_groups(self) -> list[HostGroup]:
        out: list[HostGroup] = []
        stack = [*self.host_groups, *(g for c in self.clouds for g in c.HostGroup)]
        while stack:
            group = stack.pop(0)
            if all(group is not g for g in out):
                out.append(group)
                stack.extend(group.children)
        return out

    def get_sccloud(self, name: str) -> Cloud | None:
        return next((c for c in self.clouds if c.Name.casefold() == name.casefold()), None)

    def get_scvmhostgroup(self, name: str) -> list[HostGroup]:
        return [g for g in self._all_groups() if g.Name.casefold() == name.casefold()]

    @staticmethod
    def get_scvmhost_in_group(group: HostGroup) -> list[Host]:
        """Get-SCVMHost -VMHostGroup: the group's hosts, the nodes of its clusters included."""
        return [*group.hosts, *(n for c in group.clusters for n in c.Nodes)]

    def get_scrunasaccount(self, name: str) -> RunAsAccount | None:
        return next((a for a in self.run_as if a.Name.casefold() == name.casefold()), None)

    # ------------------------------------------------------------------ the script

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": "offlineprep/vmm/v1", "errors": {}}
        out["computer_name"] = self.computer_name
        if self.domain:
            out["domain"] = self.domain
        if self.service_missing:
            out["errors"]["service"] = "the service SCVMMService is not installed on this machine"
        else:
            out["service"] = {"name": "SCVMMService", "start_name": self.service_start_name, "state": "Running"}
        if self.refuse_access:
            out["connect_error"] = dict(ACCESS_DENIED)
            return out
        sides = []
        for side in request.get("sides") or []:
            entry: dict[str, Any] = {"role": side.get("role"), "cloud": None, "host_groups": [], "hosts": [],
                                     "clusters": [], "errors": []}
            groups: list[HostGroup] = []
            if side.get("cloud"):
                cloud = self.get_sccloud(str(side["cloud"]))
                if cloud is None:
                    entry["errors"].append(f"VMM has no cloud named {side['cloud']}")
                else:
                    entry["cloud"] = cloud.Name
                    groups += cloud.HostGroup
            for name in side.get("host_groups") or []:
                found = self.get_scvmhostgroup(str(name))
                if not found:
                    entry["errors"].append(f"VMM has no host group named {name}")
                groups += found
            queue, seen = list(groups), set()
            while queue:
                group = queue.pop(0)
                if group.Path in seen:
                    continue
                seen.add(group.Path)
                entry["host_groups"].append({"name": group.Name, "path": group.Path})
                queue.extend(group.children)
                for host in self.get_scvmhost_in_group(group):
                    entry["hosts"].append({"name": host.Name, "computer_name": host.ComputerName,
                                           "platform": host.VirtualizationPlatform, "host_group": group.Path})
                for cluster in group.clusters:
                    entry["clusters"].append({"name": cluster.Name, "host_group": group.Path,
                                              "nodes": [{"name": n.Name, "computer_name": n.ComputerName}
                                                        for n in cluster.Nodes]})
            sides.append(entry)
        out["sides"] = sides
        accounts = []
        for name in request.get("run_as") or []:
            item: dict[str, Any] = {"name": name}
            account = self.get_scrunasaccount(str(name))
            if account is None:
                item["error"] = f"VMM has no Run As account named {name}"
            else:
                item["user_name"], item["domain"] = account.UserName, account.Domain
            accounts.append(item)
        out["run_as"] = accounts
        return out
