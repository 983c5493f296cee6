"""Simulated Windows hosts: data in, the collection script's JSON answer out.

`SimulatedHost.answer(request)` does what `collect.ps1` does on a real machine (resolve the share
to a local path, read the folder's SDDL, the volume, the local groups, the VMs, the firewall), so
the collector's parser is exercised with the exact document shape the script prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Fault(str, Enum):
    """Ways a Windows host misbehaves, on demand."""

    REFUSE = "refuse"  # nothing listens: connection refused
    HTTP_401 = "http401"  # credentials refused
    HTTP_500 = "http500"  # HTTP 500 with a non-SOAP body
    SOAP_FAULT = "soap-fault"  # a WS-Management fault
    SLOW = "slow"  # answers later than any sensible timeout
    TRUNCATED = "truncated"  # JSON cut in the middle
    NON_UTF8 = "non-utf8"  # bytes that are not UTF-8
    HUGE = "huge"  # 10 MB of output
    CLIXML_ERROR = "clixml-error"  # the script failed: CLIXML on stderr, exit code 1
    GARBAGE = "garbage"  # not JSON at all


@dataclass
class SimShare:
    name: str
    path: str  # local path on the server
    sddl: str = "O:SYG:SYD:(A;;0x1200a9;;;WD)"  # a new share: Everyone Read


@dataclass
class SimFolder:
    path: str
    ntfs_sddl: str
    is_directory: bool = True
    free_bytes: int = 500 * 2**30
    total_bytes: int = 1024 * 2**30


@dataclass
class SimGroup:
    sid: str
    name: str
    members: list[str] = field(default_factory=list)  # SIDs


@dataclass
class SimVM:
    name: str
    disk_bytes: int | None  # None: the script could not size a disk (pass-through, missing VHD)
    error: str = "Get-VHD : The system cannot find the file specified."


@dataclass
class SimRule:
    name: str
    local_ports: list[str]
    enabled: bool = True
    action: str = "allow"
    protocol: str = "TCP"
    display_name: str = ""


def default_groups(admins: list[str] | None = None) -> list[SimGroup]:
    return [
        SimGroup("S-1-5-32-544", "Administrators", admins or []),
        SimGroup("S-1-5-32-545", "Users", []),
        SimGroup("S-1-5-32-547", "Power Users", []),
        SimGroup("S-1-5-32-551", "Backup Operators", []),
        SimGroup("S-1-5-32-555", "Remote Desktop Users", []),
        SimGroup("S-1-5-32-580", "Remote Management Users", []),
    ]


@dataclass
class SimulatedHost:
    computer_name: str
    os_caption: str = "Microsoft Windows Server 2016 Datacenter"
    os_version: str = "10.0.14393"
    os_build: str = "14393"
    hyperv_installed: bool = False
    ip_addresses: list[str] = field(default_factory=list)
    groups: list[SimGroup] = field(default_factory=default_groups)
    shares: list[SimShare] = field(default_factory=list)
    folders: list[SimFolder] = field(default_factory=list)
    vms: list[SimVM] = field(default_factory=list)
    replication: dict[str, Any] | None = None
    firewall: list[SimRule] = field(default_factory=list)
    fault: Fault | None = None
    delay_seconds: float = 0.0  # per WS-Management request

    def _folder(self, local: str) -> SimFolder | None:
        folded = local.rstrip("\\").casefold()
        return next((f for f in self.folders if f.path.rstrip("\\").casefold() == folded), None)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": "offlineprep/host/v1", "errors": {}}
        out["computer_name"] = self.computer_name
        out["os"] = {"caption": self.os_caption, "version": self.os_version, "build": self.os_build}
        out["hyperv"] = {"installed": self.hyperv_installed, "vmms": "Running" if self.hyperv_installed else None}
        out["ip_addresses"] = list(self.ip_addresses)
        paths = request.get("paths") or []
        if paths:
            out["local_groups"] = [
                {"sid": g.sid, "name": g.name, "members": [{"sid": m, "name": f"WinNT://{m}"} for m in g.members]}
                for g in self.groups
            ]
            out["paths"] = [self._path(p) for p in paths]
        if request.get("hyperv"):
            out["vms"] = [{"name": v.name, "disk_bytes": v.disk_bytes}
                          | ({"error": v.error} if v.disk_bytes is None else {}) for v in self.vms]
            # an unconfigured host answers Get-VMReplicationServer with Hyper-V's defaults, not an error
            out["replication_server"] = dict(self.replication if self.replication is not None
                                             else {"enabled": False, "kerberos_port": 80, "certificate_port": 443})
            out["firewall_rules"] = [
                {"name": r.name, "display_name": r.display_name or r.name, "enabled": r.enabled,
                 "direction": "inbound", "action": r.action, "protocol": r.protocol, "local_ports": r.local_ports}
                for r in self.firewall if r.enabled
            ]
        return out

    def _path(self, p: dict[str, Any]) -> dict[str, Any]:
        r: dict[str, Any] = {"path": p.get("raw")}
        local = p.get("local_path")
        if p.get("kind") == "unc":
            share = next((s for s in self.shares if s.name.casefold() == str(p.get("share")).casefold()), None)
            r["share_found"] = share is not None
            if share is not None:
                r["share"] = {"name": share.name, "path": share.path, "sddl": share.sddl}
                sub = p.get("subpath") or ""
                local = share.path.rstrip("\\") + ("\\" + sub if sub else "")
        r["local_path"] = local
        if local:
            folder = self._folder(local)
            r["exists"] = folder is not None
            if folder is not None:
                r["is_directory"] = folder.is_directory
                r["ntfs_sddl"] = folder.ntfs_sddl
                r["free_bytes"] = folder.free_bytes
                r["total_bytes"] = folder.total_bytes
        return r
