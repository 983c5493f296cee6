"""A Python twin of collect.ps1: what the collection script answers on a simulated Windows host.

`answer(host, request, network)` does what collect.ps1 does with the objects a `SimulatedHost`
(offlineprep.lab.windows) returns, member by member, and returns the document the script prints:
the collector's parser is exercised with the answer Windows' objects allow. The probes section
also says how long it would take there (`seconds`), in the timing model of `_probes`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from offlineprep.lab.windows import (
    CLIENT_AUTH,
    SERVER_AUTH,
    HostError,
    LabNetwork,
    ReplicaFault,
    SimGroup,
    SimulatedHost,
    SimVM,
    WinObject,
)

# collect.ps1's probes section: names are waited for up to 2 s, connections until 4 s in all
DNS_WAIT_SECONDS = 2.0
PROBE_WAIT_SECONDS = 4.0
# Test-VMReplicationConnection: how long a test takes to answer here, and to a port where nothing answers
# (Windows gives up on a SYN after some 21 s; WinHTTP then reports ERROR_WINHTTP_TIMEOUT)
REPLICA_TEST_SECONDS = 0.05
SILENT_PORT_SECONDS = 21.0


def answer(host: SimulatedHost, request: dict[str, Any], network: LabNetwork | None = None) -> dict[str, Any]:
    """`network`: the lab's DNS and port 445 (the endpoint's, shared by every host); by default a lab of
    this host alone."""
    out: dict[str, Any] = {"schema": "offlineprep/host/v1", "errors": {}}
    now = datetime.now(UTC) + timedelta(seconds=host.clock_offset_seconds)
    w32time = WinObject("W32TimeParameters", Type=host.time_source_type, NtpServer=host.ntp_server)
    out["clock"] = {"utc": now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z", "time_source_type": str(w32time.Type),
                    "ntp_server": str(w32time.NtpServer) if w32time.NtpServer is not None else "",
                    "policy_time_source_type": None, "policy_ntp_server": None}
    if host.time_policy_type is not None or host.time_policy_ntp_server is not None:  # the policy key exists
        policy = WinObject("W32TimePolicyParameters", Type=host.time_policy_type, NtpServer=host.time_policy_ntp_server)
        if policy.Type is not None:
            out["clock"]["policy_time_source_type"] = str(policy.Type)
        if policy.NtpServer is not None:
            out["clock"]["policy_ntp_server"] = str(policy.NtpServer)
    cs = host.computer_system()
    out["computer_name"] = cs.DNSHostName
    if cs.PartOfDomain and cs.Domain:
        out["computer_name"] = f"{cs.DNSHostName}.{cs.Domain}"
        out["domain"] = cs.Domain
    ip_properties = host.ip_global_properties()
    out["primary_dns_suffix"] = str(ip_properties.DomainName)
    if ip_properties.DomainName:
        out["computer_name"] = f"{cs.DNSHostName}.{ip_properties.DomainName}"
    out["domain_role"] = int(cs.DomainRole)
    os = host.operating_system()
    out["os"] = {"caption": os.Caption, "version": os.Version, "build": os.BuildNumber}
    feature = WinObject("WindowsFeature", Name="Hyper-V", InstallState=host.hyperv_install_state or (
        "Installed" if host.hyperv_installed else "Available"))
    status = host.vmms_status or ("Running" if host.hyperv_installed else None)
    svc = WinObject("ServiceController", Name="vmms", Status=status) if status else None
    out["hyperv"] = {"installed": feature.InstallState == "Installed", "vmms": svc.Status if svc else None,
                     "install_state": str(feature.InstallState), "module": host.hyperv_module}
    out["ip_addresses"] = [str(a) for nic in host.adapters() for a in nic.IPAddress if a]
    paths = request.get("paths") or []
    if paths:
        lanman = WinObject("LanmanServerParameters", DisableStrictNameChecking=host.strict_name_checking_disabled,
                           OptionalNames=host.optional_names or None)
        dnscache = WinObject("DnsCacheParameters", AlternateComputerNames=host.alternate_names or None)
        out["server_names"] = {
            "disable_strict_name_checking": int(lanman.DisableStrictNameChecking)
            if lanman.DisableStrictNameChecking is not None else None,
            "optional_names": [str(n) for n in lanman.OptionalNames or [] if n],
            "alternate_names": [str(n) for n in dnscache.AlternateComputerNames or [] if n],
            "name_hardening_level": int(WinObject("MSFT_SmbServerConfiguration", SmbServerNameHardeningLevel=(
                host.smb_name_hardening_level)).SmbServerNameHardeningLevel)}
        out["local_groups"] = [_group(host, g) for g in host.groups]
        state: dict[str, Any] = {}
        out["paths"] = [_path(host, p, out.get("domain") or "", state) for p in paths]
        if any(p.get("share_scope") not in (None, "*") for p in out["paths"]):
            try:
                out["file_server_cluster"] = _file_server_cluster(host)
            except HostError as exc:
                out["errors"]["file_server_cluster"] = str(exc)
    if request.get("hyperv"):
        netlogon = WinObject("NetlogonParameters", SiteName=host.site_name, DynamicSiteName=host.dynamic_site_name)
        out["ad_site"] = {"site_name": str(netlogon.SiteName) if netlogon.SiteName else None,
                          "dynamic_site_name": str(netlogon.DynamicSiteName) if netlogon.DynamicSiteName else None}
        # collect.ps1's Hyper-V sections throw this when the Hyper-V PowerShell module is missing
        no_module = ("the Hyper-V PowerShell module is not installed (Windows feature Hyper-V-PowerShell): {} cannot "
                     "be run")
        if host.hyperv_module:
            out["vms"] = [_vm(host, v) for v in host.vms]
        else:
            out["errors"]["vms"] = no_module.format("Get-VM")
            out["errors"]["replication_server"] = no_module.format("Get-VMReplicationServer")
        rs = host.replication_server()
        default = str(rs.DefaultStorageLocation or "")
        out["replication_server"] = {"enabled": bool(rs.ReplicationEnabled),
                                     "kerberos_port": rs.KerberosAuthenticationPort,
                                     "certificate_port": rs.CertificateAuthenticationPort,
                                     "allowed_authentication": str(rs.AllowedAuthenticationType),
                                     "allowed_from_any_server": bool(rs.ReplicationAllowedFromAnyServer),
                                     "default_storage_location": default,
                                     "default_storage_exists": bool(default and host.exists(default)),
                                     "certificate_thumbprint": str(rs.CertificateThumbprint or ""),
                                     "authorization_entries": [
                                         {"allowed_primary_server": str(a.AllowedPrimaryServer),
                                          "storage_location": str(a.ReplicaStorageLocation),
                                          "trust_group": str(a.TrustGroup),
                                          "storage_exists": bool(a.ReplicaStorageLocation
                                                                 and host.exists(str(a.ReplicaStorageLocation)))}
                                         for a in host.authorization_entries()]}
        if not host.hyperv_module:  # the section threw before Get-VMReplicationServer
            del out["replication_server"]
        replication = WinObject("ReplicationParameters", DisableCertRevocationCheck=host.cert_revocation_check_disabled)
        disabled = replication.DisableCertRevocationCheck
        out["cert_revocation_check_disabled"] = int(disabled) if disabled is not None else None
        out["trusted_roots"] = [str(WinObject("X509Certificate2", Thumbprint=t).Thumbprint) for t in host.trusted_roots]
        out["certificates"] = [_certificate(host, c, revocation=disabled != 1) for c in host.certificate_objects()]
        out["cluster"] = _cluster(host)
        rules, port_filters, address_filters = host.firewall_objects()
        ports = {pf.InstanceID: pf for pf in port_filters}
        scopes = {af.InstanceID: af for af in address_filters}
        app_filters, service_filters = host.firewall_filters()
        programs = {f.InstanceID: f for f in app_filters}
        services = {f.InstanceID: f for f in service_filters}
        out["firewall_rules"] = []
        for rule in rules:  # Get-NetFirewallRule -Direction Inbound -Enabled True
            if rule.Direction != "Inbound" or rule.Enabled != "True":
                continue
            pf, af = ports.get(rule.InstanceID), scopes.get(rule.InstanceID)
            out["firewall_rules"].append({
                "name": rule.Name, "display_name": rule.DisplayName, "enabled": rule.Enabled,
                "direction": rule.Direction, "action": rule.Action, "profile": rule.Profile,
                "protocol": pf.Protocol if pf else None,
                "local_ports": [str(p) for p in pf.LocalPort] if pf else [],
                "remote_addresses": [str(a) for a in af.RemoteAddress] if af else [],
                "policy_store_source_type": str(rule.PolicyStoreSourceType),
                "policy_store_source": str(rule.PolicyStoreSource),
                "program": str(programs[rule.InstanceID].Program) if rule.InstanceID in programs else None,
                "service": str(services[rule.InstanceID].Service) if rule.InstanceID in services else None})
        out["firewall_profiles"] = []
        for p in host.firewall_profiles:
            fp = WinObject("NetFirewallProfile", Name=p.name, Enabled=p.enabled,
                           DefaultInboundAction=p.default_inbound_action, AllowInboundRules=p.allow_inbound_rules,
                           AllowLocalFirewallRules=p.allow_local_firewall_rules)
            out["firewall_profiles"].append({"name": fp.Name, "enabled": fp.Enabled,
                                             "default_inbound_action": fp.DefaultInboundAction,
                                             "allow_inbound_rules": fp.AllowInboundRules,
                                             "allow_local_firewall_rules": fp.AllowLocalFirewallRules})
        out["network_profiles"] = []
        for n in host.networks:
            net = WinObject("NetConnectionProfile", InterfaceAlias=n.interface, NetworkCategory=n.category)
            out["network_profiles"].append({"interface": net.InterfaceAlias, "category": net.NetworkCategory})
    if request.get("hyperv") and request.get("replica_connections"):
        if host.hyperv_module:
            out["replica_connection"] = _replica_connections(host, request, network or LabNetwork({host.computer_name:
                                                                                                   host}))
        else:
            out["errors"]["replica_connection"] = no_module.format("Test-VMReplicationConnection")
    probes = request.get("probes") or []
    if probes:
        out["probes"] = _probes(host, [str(n) for n in probes], network or LabNetwork({host.computer_name: host}))
    return out


def _cluster(host: SimulatedHost) -> dict[str, Any] | None:
    """68-cluster.ps1: no Cluster service, no section; a node answers Get-Cluster and the broker resources as
    scripts/cluster.ps1 reads them (the same simulated cluster answers both)."""
    if host.cluster is None:
        return None
    answer = host.cluster.answer({})["cluster"]
    return {"name": answer["name"], "domain": answer["domain"], "brokers": answer["brokers"]}


def _file_server_cluster(host: SimulatedHost) -> dict[str, Any]:
    """53-file_server_cluster.ps1: the cluster, its nodes with their interfaces' addresses, and each role
    holding a Network Name or Distributed Network Name with its parameters and IP Address resources."""
    objects = host.cluster_objects()
    nodes = []
    for node in objects["nodes"]:
        addresses = [str(i.Address) for i in objects["interfaces"] if str(i.Node) == str(node.Name) and i.Address]
        nodes.append({"name": str(node.Name), "state": str(node.State), "addresses": addresses})
    roles = []
    for group in objects["groups"]:
        role: dict[str, Any] = {"group": str(group.Name), "group_type": str(group.GroupType), "state": str(group.State),
                                "owner_node": str(group.OwnerNode), "network_names": [], "addresses": []}
        for resource in objects["resources"]:
            if str(resource.OwnerGroup) != str(group.Name):
                continue
            kind = str(resource.ResourceType)
            parameters = objects["parameters"].get(str(resource.Name), [])
            if kind in ("Network Name", "Distributed Network Name"):
                name: dict[str, Any] = {"resource": str(resource.Name), "resource_type": kind, "state": str(resource.State)}
                for parameter in parameters:
                    key = {"Name": "name", "DnsName": "dns_name", "ObjectGUID": "object_guid"}.get(str(parameter.Name))
                    if key:
                        name[key] = str(parameter.Value)
                role["network_names"].append(name)
            if kind in ("IP Address", "IPv6 Address"):
                role["addresses"] += [str(p.Value) for p in parameters if p.Value]
        if role["network_names"]:
            roles.append(role)
    cluster = objects["cluster"]
    return {"name": str(cluster.Name), "domain": str(cluster.Domain), "nodes": nodes, "roles": roles}


def _certificate(host: SimulatedHost, cert: WinObject, revocation: bool = True) -> dict[str, Any]:
    now = datetime.now(UTC)
    ekus = [str(e.ObjectId) for e in cert.EnhancedKeyUsageList if e]
    not_before, not_after = cert.NotBefore.astimezone(UTC), cert.NotAfter.astimezone(UTC)
    entry: dict[str, Any] = {"thumbprint": str(cert.Thumbprint), "subject": str(cert.Subject),
                             "dns_names": [str(d.Unicode) for d in cert.DnsNameList if d], "ekus": ekus,
                             "not_before": not_before.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
                             "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
                             "has_private_key": bool(cert.HasPrivateKey), "chain_ok": None, "chain_status": [],
                             "revocation_checked": None, "root_thumbprint": None}
    if cert.HasPrivateKey and SERVER_AUTH in ekus and CLIENT_AUTH in ekus and not_before <= now <= not_after:
        # X509Chain(true).Build, RevocationMode Online unless DisableCertRevocationCheck is 1: false with any status
        statuses = host.chain_status(str(cert.Thumbprint), revocation=revocation)
        entry["chain_ok"] = not statuses
        entry["chain_status"] = [str(s.Status) for s in statuses]
        entry["revocation_checked"] = revocation
        root = host.chain_root(str(cert.Thumbprint))
        entry["root_thumbprint"] = str(root.Certificate.Thumbprint) if root is not None else None
    return entry


def _probes(host: SimulatedHost, names: list[str], network: LabNetwork) -> dict[str, Any]:
    """What the probes section prints, and how long it takes there (`seconds`): the names are looked up
    at once and waited for in turn up to DNS_WAIT_SECONDS, the connections to each address found are
    started as their name comes back and waited for in turn until PROBE_WAIT_SECONDS, all on one clock.
    A filtered port never answers (Windows gives up on a SYN after some 21 s), a name whose DNS server
    is silent never comes back."""
    clock = 0.0
    entries: list[dict[str, Any]] = []
    attempts: list[tuple[dict[str, Any], str, str, float]] = []  # entry, address, state, done at
    for name in names:
        lookup = host.dns.get(name.casefold().rstrip(".")) or network.lookup(name)
        entry: dict[str, Any] = {"name": name, "addresses": [], "error": None, "timed_out": False,
                                 "connections": []}
        done = float("inf") if lookup.no_answer else lookup.seconds
        clock = max(clock, min(done, DNS_WAIT_SECONDS))
        if done > clock:
            entry["timed_out"] = True
        elif lookup.addresses is None:
            entry["error"] = "No such host is known"  # SocketException HostNotFound
        else:
            for address in lookup.addresses[:4]:
                entry["addresses"].append(address)
                state, seconds = network.connect(address)
                attempts.append((entry, address, state, float("inf") if state == "filtered" else clock + seconds))
        entries.append(entry)
    for entry, address, state, done in attempts:
        clock = max(clock, min(done, PROBE_WAIT_SECONDS))
        if done > clock:
            entry["connections"].append({"address": address, "state": "timeout", "error": None})
        elif state == "refused":
            entry["connections"].append({"address": address, "state": "refused", "error": "ConnectionRefused"})
        else:
            entry["connections"].append({"address": address, "state": "open", "error": None})
    return {"seconds": round(clock, 3), "names": entries}


def _group(host: SimulatedHost, group: SimGroup) -> dict[str, Any]:
    win32 = WinObject("Win32_Group", SID=group.sid, Name=group.name, LocalAccount=True)
    entry: dict[str, Any] = {"sid": win32.SID, "name": win32.Name, "members": [], "unreadable": []}
    if group.error is not None:
        entry["error"] = group.error
        return entry
    for member in host.group_members(group):
        path, sid, why = None, None, None
        try:
            path = str(member.ADsPath)
        except HostError as exc:
            why = str(exc)
        try:
            sid = str(member.objectSid)
        except HostError as exc:
            why = str(exc)
        if not sid and path and path.startswith("WinNT://S-1-"):
            sid = path[len("WinNT://"):]
        if sid:
            entry["members"].append({"sid": sid, "name": path})
        else:
            entry["unreadable"].append({"name": path, "error": str(why)})
    return entry


def _path(host: SimulatedHost, p: dict[str, Any], machine_domain: str, state: dict[str, Any]) -> dict[str, Any]:
    r: dict[str, Any] = {"path": str(p.get("raw"))}
    try:
        local = str(p.get("local_path") or "")
        server = str(p.get("server") or "")
        short = server.split(".")[0]
        if p.get("kind") == "unc":
            share_name = str(p.get("share") or "")
            domain_based = bool(machine_domain) and (
                server.casefold() == machine_domain.casefold()
                or ("." not in server and short.casefold() == machine_domain.split(".")[0].casefold()
                    and short.casefold() != host.short_name.casefold()))
            nodes, targets = host.dfs()
            parts = [x for x in str(p.get("subpath") or "").split("\\") if x]
            found, root = None, None
            for node in nodes:
                segments = str(node.Name).lstrip("\\").split("\\")
                if len(segments) < 2 or segments[1].casefold() != share_name.casefold():
                    continue
                if node.Root:
                    root = "\\\\" + segments[0] + "\\" + segments[1]
                    continue
                link = segments[2:]
                if len(link) <= len(parts) and all(a.casefold() == b.casefold() for a, b in zip(link, parts,
                                                                                                strict=False)):
                    found = node
            if domain_based or root or found:
                names = ["\\\\" + t.ServerName + "\\" + t.ShareName for t in targets
                         if found is not None and str(t.LinkName).casefold() == str(found.Name).casefold()]
                r["dfs"] = {"namespace": root or f"\\\\{server}\\{share_name}",
                            "link": str(found.Name) if found is not None else None,
                            "targets": names, "domain_based": domain_based}
                return r
            shares = host.smb_shares()
            scope = "*"
            scopes = []
            for share in shares:
                name = str(share.ScopeName)
                if name != "*" and name.casefold() in {short.casefold(), server.casefold()}:
                    scope = name
                if str(share.Name).casefold() == share_name.casefold():
                    scopes.append(name)
            match = next((s for s in shares if str(s.Name).casefold() == share_name.casefold()
                          and str(s.ScopeName).casefold() == scope.casefold()), None)
            r["share_scope"] = scope
            r["share_scopes"] = scopes
            r["share_found"] = match is not None
            if match is not None:
                r["share"] = {"name": match.Name, "path": match.Path, "sddl": match.SecurityDescriptor,
                              "scope": match.ScopeName}
                sub = p.get("subpath") or ""
                local = str(match.Path).rstrip("\\") + ("\\" + sub if sub else "")
        r["local_path"] = local or None
        if local:
            full = local.rstrip("\\") + "\\"
            best = None
            for vol in host.win32_volumes():
                vol_name = str(vol.Name or "")
                if vol_name and full.casefold().startswith(vol_name.casefold()) and (
                        best is None or len(vol_name) > len(str(best.Name))):
                    best = vol
            if best is None:
                raise HostError(f"no volume of this server holds {local} (a drive letter not assigned, or its "
                                 "disk offline)")
            r["volume"] = {"name": best.Name, "file_system": best.FileSystem or "", "drive_type": best.DriveType,
                           "capacity": best.Capacity, "free_space": best.FreeSpace}
            if not best.FileSystem:
                raise HostError(f"the volume {best.Name} that holds {local} is not ready: no file system is mounted "
                                 "(offline, locked by BitLocker, or not formatted)")
            item = host.item(local)
            r["exists"] = item is not None
            if item is not None:
                r["is_directory"] = bool(item.PSIsContainer)
                r["ntfs_sddl"] = str(host.acl(local).Sddl)
    except HostError as exc:
        r["error"] = str(exc)
    return r


def _vm(host: SimulatedHost, sim: SimVM) -> dict[str, Any]:
    vm = WinObject("VirtualMachine", Name=sim.name)
    entry: dict[str, Any] = {"name": vm.Name, "disk_bytes": None}
    disk = WinObject("HardDiskDrive", Path=None if sim.pass_through else f"D:\\VMs\\{sim.name}.vhdx",
                     DiskNumber=2 if sim.pass_through else None)
    try:
        if disk.DiskNumber is not None:
            raise HostError(f"pass-through disk {disk.DiskNumber}: no file to size")
        if sim.disk_bytes is None:
            raise HostError(sim.error)
        vhd = WinObject("VirtualHardDisk", Path=disk.Path, FileSize=sim.disk_bytes, ParentPath="")
        entry["disk_bytes"] = int(vhd.FileSize)
    except HostError as exc:
        entry["error"] = str(exc)
    return entry


def _replica_connections(host: SimulatedHost, request: dict[str, Any], network: LabNetwork) -> dict[str, Any]:
    """66-replica_connection.ps1: each Test-VMReplicationConnection started at once, waited for against one
    deadline; one that has not answered by then is a timeout."""
    deadline = float(request.get("replica_connection_seconds") or 10)
    thumbprint = str(host.replication_server().CertificateThumbprint or "")
    clock = 0.0
    entries = []
    for target in request["replica_connections"]:
        entry: dict[str, Any] = {"server": str(target["server"]), "port": int(target["port"]),
                                 "authentication": str(target["authentication"]), "thumbprint": None,
                                 "state": "not_tested", "message": None, "error_id": None, "output": None}
        entries.append(entry)
        if entry["authentication"] == "Certificate" and not thumbprint:
            entry["message"] = ("no CertificateThumbprint is configured on this host (Get-VMReplicationServer): "
                                "certificate authentication has no certificate to present")
            continue
        if entry["authentication"] == "Certificate":
            entry["thumbprint"] = thumbprint
        test = test_replication_connection(host, entry["server"], entry["port"], entry["authentication"],
                                           entry["thumbprint"], network)
        if test.Seconds > deadline:
            entry["state"] = "timeout"
            clock = deadline
            continue
        clock = max(clock, test.Seconds)
        entry["output"] = " ".join(str(o) for o in test.Output or [])
        record = test.ErrorRecord
        if record is None:
            entry["state"] = "connected"
        else:
            entry.update(state="failed", message=str(record.Exception.Message),
                         error_id=str(record.FullyQualifiedErrorId))
    return {"seconds": round(clock, 3), "deadline_seconds": deadline, "connections": entries}


# What Hyper-V says for each failure: the form of its documented messages ("Hyper-V failed to authenticate the
# replica server using Kerberos authentication. Error: the connect with the server was terminated abnormally
# (0x00002EFE)", Microsoft's Hyper-V Replica troubleshooting guide) with WinHTTP's codes; the exact words and
# the error id are assumed (docs/host-unverified.md, replica.connection).
_ERROR_ID = "OperationFailed,Microsoft.HyperV.PowerShell.Commands.TestVMReplicationConnection"


def _failed(message: str, seconds: float = REPLICA_TEST_SECONDS) -> WinObject:
    record = WinObject("ErrorRecord", Exception=WinObject("Exception", Message=message),
                       FullyQualifiedErrorId=_ERROR_ID)
    return WinObject("VMReplicationConnectionTest", Output=None, ErrorRecord=record, Seconds=seconds)


def _cannot_connect(server: str, port: int) -> WinObject:
    return _failed(f"Hyper-V cannot connect to the specified Replica server '{server}'. Error: A connection with the "
                   f"server could not be established (0x00002EFD). Verify that the specified server is enabled as a "
                   f"Replica server, allows inbound connections on the specified port ({port}), and supports the "
                   "specified authentication type.")


def _authorized(replica: SimulatedHost, primary: str) -> bool:
    rs = replica.replication_server()
    if rs.ReplicationAllowedFromAnyServer:
        return True
    name = primary.casefold().rstrip(".")
    for entry in replica.authorization_entries():
        pattern = str(entry.AllowedPrimaryServer).casefold().rstrip(".")
        if pattern == name or (pattern.startswith("*.") and name.partition(".")[2] == pattern[2:]):
            return True
    return False


def test_replication_connection(host: SimulatedHost, server: str, port: int, authentication: str,
                                thumbprint: str | None, network: LabNetwork) -> WinObject:
    """Test-VMReplicationConnection on `host` (the primary) as the lab answers it: the name through the lab's
    DNS, then the Replica server's listener (enabled, this authentication on this port, vmms running), the
    primary's certificate, the Replica server's authorization of the primary (a cluster node is authorized
    by its broker's name), and the server's fault on demand."""
    lookup = host.dns.get(server.casefold().rstrip(".")) or network.lookup(server)
    if not lookup.addresses:
        return _failed(f"Hyper-V cannot connect to the specified Replica server '{server}'. Error: The server name or "
                       "address could not be resolved (0x00002EE7).")
    replica = network.machines.get(lookup.addresses[0])
    if replica is None or replica.replica_fault is ReplicaFault.TIMEOUT:
        if replica is not None:  # nothing answers at all: longer than any deadline
            return _failed("", seconds=float("inf"))
        return _failed(f"Hyper-V cannot connect to the specified Replica server '{server}'. Error: The operation timed "
                       "out (0x00002EE2).", seconds=SILENT_PORT_SECONDS)
    rs = replica.replication_server()
    allowed = str(rs.AllowedAuthenticationType or "")
    listening = rs.KerberosAuthenticationPort if authentication == "Kerberos" else rs.CertificateAuthenticationPort
    running = (replica.vmms_status or ("Running" if replica.hyperv_installed else "")) == "Running"
    if (replica.replica_fault is ReplicaFault.REFUSED or not running or not rs.ReplicationEnabled
            or allowed not in (authentication, "CertificateAndKerberos") or listening != port):
        return _cannot_connect(server, port)
    if authentication == "Certificate" and (replica.replica_fault is ReplicaFault.CERTIFICATE or not any(
            c.thumbprint == thumbprint for c in host.certificates)):
        return _failed(f"Hyper-V failed to authenticate the specified Replica server '{server}' using certificate-based "
                       "authentication. Error: A security error occurred (0x00002F8F). Verify that the certificate "
                       f"with thumbprint '{thumbprint}' is valid and that each server trusts the other's certificate.")
    brokers = host.cluster.broker_fqdns() if host.cluster is not None else []
    primary = brokers[0] if brokers else host.computer_name
    if replica.replica_fault is ReplicaFault.AUTHORIZATION or not _authorized(replica, primary):
        return _failed(f"The Replica server '{server}' rejected the connection: the primary server '{primary}' is not "
                       "authorized to replicate to it. Error: Access is denied. (0x80070005)")
    return WinObject("VMReplicationConnectionTest", Output=None, ErrorRecord=None, Seconds=REPLICA_TEST_SECONDS)
