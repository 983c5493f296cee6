"""A Python twin of apply.ps1: what the write script does on a simulated Windows host, per action kind.

`HostState(host).run(request)` takes the request apply sends (offlineprep.apply.hosts) and changes
the `SimulatedHost`'s own state (offlineprep.lab.windows) as apply.ps1 would on Windows, answering
with the lines the script prints. Each kind's behaviour is one method, marked with the kind it
carries out (`@carries_out(t.GrantShareRights)`): a new host kind adds its method here, beside its
part of apply.ps1 (docs/fixes.md, "A new kind").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import TypeAdapter

from offlineprep.actions import types as t
from offlineprep.actions.acl_grant import ICACLS_GRANT, LOCAL_PATH
from offlineprep.actions.base import ActionBase
from offlineprep.actions.replica_server import writable_value
from offlineprep.actions.time_sync import SYNC_FROM_FLAGS
from offlineprep.lab.windows import HostError, SimAuthorization, SimFolder, SimRule, SimShare, SimulatedHost, WinObject

_ACTION: TypeAdapter[Any] = TypeAdapter(t.Action)

# W32Time's MaxAllowedPhaseOffset on a domain member (seconds): a larger offset is set at once, a smaller one
# corrected gradually (Microsoft, "Windows Time service tools and settings")
MAX_ALLOWED_PHASE_OFFSET = 300.0

# A new folder inherits its parent's inheritable entries (New-Item; the volume root of a member server
# grants SYSTEM and Administrators Full Control and Users read and execute)
NEW_FOLDER_SDDL = "O:BAG:SYD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)"


# Set-VMReplicationServer's parameters and the keys of SimulatedHost.replication they set
_REPLICATION_KEYS = {"ReplicationEnabled": "enabled", "AllowedAuthenticationType": "allowed_authentication",
                     "ReplicationAllowedFromAnyServer": "allowed_from_any_server",
                     "DefaultStorageLocation": "default_storage_location",
                     "CertificateThumbprint": "certificate_thumbprint"}


def _apply_action(item: dict[str, Any]) -> Any:
    return _ACTION.validate_python(item.get("action"))


# what each kind does on the host: the HostState method that carries it out, by kind (`carries_out`)
_STEPS: dict[str, Callable[[HostState, dict[str, Any], dict[str, Any], bool], None]] = {}
_Step = TypeVar("_Step", bound=Callable[..., None])


def carries_out(kind: type[ActionBase]) -> Callable[[_Step], _Step]:
    """Marks the HostState method that does what apply.ps1 does for `kind` (the kind's simulator behaviour)."""
    def register(method: _Step) -> _Step:
        _STEPS[kind.kind_name()] = method
        return method
    return register


class HostState:
    """apply.ps1's steps on a SimulatedHost's own state: share and NTFS descriptors through
    offlineprep.lab.descriptors (what Grant-SmbShareAccess, icacls /grant and the revert's
    Restore-AccountAces + Set-Acl / Set-SmbShare do), local groups, firewall rules, shares and
    folders. Each step compares the state with the plan's (or the record's) exactly as the script
    does, and answers with the lines the script prints. Descriptors it changes are written in the
    long SDDL form (full SIDs, hexadecimal masks)."""

    def __init__(self, host: SimulatedHost) -> None:
        self.host = host
        self.previewing = False  # mode "preview": revert's reads and decisions, stopped before each write

    def run(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        from offlineprep.acl import SddlError
        from offlineprep.lab.descriptors import CommandError

        self.previewing = request.get("mode") == "preview"
        reverting = request.get("mode") == "revert" or self.previewing
        lines = []
        for item in request.get("actions") or []:
            result: dict[str, Any] = {"id": str(item.get("id")), "outcome": "failed", "message": "", "before": None,
                                      "after": None}
            try:
                step = _STEPS.get(str(item.get("kind")))
                if step is None:
                    raise HostError(f"this script does not carry out {item.get('kind')} actions")
                step(self, item, result, reverting)
            except (HostError, CommandError, SddlError) as exc:
                result["outcome"], result["message"] = "failed", str(exc)
            lines.append(result)
        lines.append({"done": True})
        return lines

    # ------------------------------------------------------------------ descriptors

    @staticmethod
    def _granted(sddl: str, item: dict[str, Any]) -> bool:
        """Test-Granted: an explicit allow entry of the SID, not inherit-only, with the inheritance flags
        asked for, holding every right of the mask."""
        from offlineprep.acl import parse_sddl

        sid, mask, flags = item.get("sid"), int(item.get("mask") or 0), int(item.get("flags") or 0)
        if not sid:
            return False
        wanted = {name for name, bit in (("OI", 1), ("CI", 2), ("NP", 4)) if flags & bit}
        for ace in parse_sddl(sddl).dacl or ():
            if ace.type != "A" or "ID" in ace.flags or "IO" in ace.flags or ace.sid.upper() != str(sid).upper():
                continue
            if wanted <= set(ace.flags) and ace.mask & mask == mask:
                return True
        return False

    @staticmethod
    def _same(current: str, expected: str, item: dict[str, Any]) -> bool:
        """Test-Same: equal, or equal without the explicit entries of the other grants' accounts."""
        from offlineprep.acl import format_sddl, parse_sddl

        others = {str(s).upper() for s in item.get("others") or []}
        if not others:
            return current == expected

        def without(sddl: str) -> str:
            sd = parse_sddl(sddl)
            kept = tuple(a for a in sd.dacl or () if "ID" in a.flags or a.sid.upper() not in others)
            return format_sddl(replace(sd, dacl=kept if sd.dacl is not None else None))

        return without(current) == without(expected)

    def _descriptor_step(self, item: dict[str, Any], result: dict[str, Any], reverting: bool, current: str,
                         write: Any, what: str) -> None:
        from offlineprep.acl import format_sddl, parse_sddl
        from offlineprep.lab import descriptors

        action = _apply_action(item)
        saved = str(action.before_sddl or "")
        result["before"] = {"sddl": current}
        if not reverting:
            if self._granted(current, item):
                result.update(outcome="already", message=f"{what} already grants it")
                return
            if not self._same(current, saved, item):
                result.update(outcome="changed", message=f"the descriptor of {what} is not the one read when planned")
                return
            after = format_sddl(descriptors.run_fix(action, parse_sddl(current)))
            write(after)
            result.update(outcome="applied", after={"sddl": after}, message=f"granted on {what}")
            return
        recorded = item.get("recorded") or {}
        if self._same(current, saved, item):
            result.update(outcome="as-before", message=f"{what} is already as before apply")
            return
        left = recorded.get("after")
        if left:
            if not self._same(current, str(left.get("sddl")), item):
                result.update(outcome="changed", message=f"the descriptor of {what} is not the one apply left")
                return
        elif not self._granted(current, item):
            result.update(outcome="changed", message=f"{what} does not hold the grant apply makes")
            return
        if self.previewing:
            result.update(outcome="reverted", message=f"would put back the account's entries on {what}")
            return
        after = format_sddl(descriptors.run_revert(action, parse_sddl(current)))
        write(after)
        result.update(outcome="reverted", after={"sddl": after}, message=f"the account's entries on {what} are back")

    def _shares(self, name: str, scope: str | None) -> list[SimShare]:
        """Get-SmbShare -Name [-ScopeName]: by name alone, every share of that name (one per scope)."""
        return [s for s in self.host.shares if s.name.casefold() == name.casefold()
                and (not scope or s.scope.casefold() == scope.casefold())]

    def _find_share(self, name: str, scope: str | None = None) -> SimShare:
        shares = self._shares(name, scope)
        if not shares:
            raise HostError(f"No MSFT_SmbShare objects found with property 'Name' equal to '{name}'.  Verify the "
                             "value of the property and retry.")
        if len(shares) > 1:  # apply.ps1 would read one descriptor of several: the grant lands on every one of them
            raise HostError(f"Get-SmbShare -Name {name} returned {len(shares)} shares (scopes "
                             f"{', '.join(s.scope for s in shares)}): the share's scope is needed (-ScopeName)")
        return shares[0]

    def _find_folder(self, path: str) -> SimFolder:
        folder = next((f for f in self.host.folders if f.path.rstrip("\\").casefold() == path.rstrip("\\").casefold()),
                      None)
        if folder is None:
            raise HostError(f"Cannot find path '{path}' because it does not exist.")
        return folder

    @carries_out(t.GrantShareRights)
    def _share_rights(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        share = self._find_share(str(item["action"]["share"]), item["action"].get("scope"))
        self._descriptor_step(item, result, reverting, share.sddl, lambda sddl: setattr(share, "sddl", sddl),
                              f"the share {share.name}")

    @carries_out(t.GrantNtfsRights)
    def _ntfs_rights(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        path = str(item["action"]["local_path"])
        if not reverting:  # apply.ps1: only the shapes icacls reads as one argument each (acl_grant.LOCAL_PATH, ICACLS_GRANT)
            if not re.fullmatch(LOCAL_PATH, path):
                raise HostError(f"icacls is not given the path '{path}': not a local folder path it reads as one "
                                "argument; nothing was changed")
            if not re.fullmatch(ICACLS_GRANT, str(item.get("grant"))):
                raise HostError(f"icacls is not given the grant '{item.get('grant')}': not an account SID with rights; "
                                "nothing was changed")
        folder = self._find_folder(path)
        self._descriptor_step(item, result, reverting, folder.ntfs_sddl,
                              lambda sddl: setattr(folder, "ntfs_sddl", sddl), folder.path)

    # ------------------------------------------------------------------ local groups

    @carries_out(t.AddLocalGroupMember)
    def _local_group(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        sid = action.get("member_sid")
        if not sid:
            raise HostError(f"the SID of {action.get('member')} was not read from AD: apply cannot tell whether it is "
                             "a member")
        group = next((g for g in self.host.groups if g.sid.upper() == str(action["group_sid"]).upper()), None)
        if group is None:  # SecurityIdentifier.Translate of a SID the machine does not know
            raise HostError('Exception calling "Translate" with "1" argument(s): "Some or all identity references '
                             'could not be translated."')
        member = any(m.upper() == sid.upper() for m in group.members)
        result["before"] = {"member": member}
        if not reverting:
            if member:
                result.update(outcome="already", message=f"{action.get('member')} is already in {group.name}")
                return
            group.members.append(sid)
            result.update(outcome="applied", after={"member": True}, message=f"added {action.get('member')} to {group.name}")
            return
        if not member:
            result.update(outcome="as-before", message=f"{action.get('member')} is not in {group.name}, as before apply")
            return
        if self.previewing:
            result.update(outcome="reverted", message=f"would remove {action.get('member')} from {group.name}")
            return
        group.members = [m for m in group.members if m.upper() != sid.upper()]
        result.update(outcome="reverted", after={"member": False}, message=f"removed {action.get('member')} from {group.name}")

    # ------------------------------------------------------------------ firewall

    def _rule_state(self, name: str) -> str:
        # Get-NetFirewallRule -Name -PolicyStore PersistentStore: the local store holds no Group Policy rule
        rule = next((r for r in self.host.firewall if r.name.casefold() == name.casefold()
                     and r.source_type.casefold() == "local"), None)
        if rule is None:
            return "absent"
        return "enabled" if rule.enabled else "disabled"

    def _set_enabled(self, name: str, enabled: bool) -> None:
        for rule in self.host.firewall:
            if rule.name.casefold() == name.casefold() and rule.source_type.casefold() == "local":
                rule.enabled = enabled

    @carries_out(t.OpenFirewallPort)
    def _firewall_open(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        name = str(action["rule_name"])
        state = self._rule_state(name)
        result["before"] = {"rule": state}
        if not reverting:
            if state == "enabled":
                result.update(outcome="already", message=f"the rule {name} is already there and enabled")
                return
            if state == "absent":
                self.host.firewall.append(SimRule(name, [str(action["port"])], display_name=str(action["display_name"]),
                                                  profile=str(action["profile"]),
                                                  remote_addresses=[str(a) for a in action["remote_address"]]))
            else:
                self._set_enabled(name, True)
            result.update(outcome="applied", after={"rule": self._rule_state(name)},
                          message=f"inbound TCP {action['port']} allowed by the rule {name}")
            return
        recorded = item.get("recorded") or {}
        was = str((recorded.get("before") or {}).get("rule"))
        if state == was:
            result.update(outcome="as-before", message=f"the rule {name} is {state}, as before apply")
            return
        if state != str((recorded.get("after") or {}).get("rule")):
            result.update(outcome="changed", message=f"the rule {name} is {state} now, not as apply left it")
            return
        if self.previewing:
            result.update(outcome="reverted", message=f"would make the rule {name} {was} again")
            return
        if was == "absent":
            self.host.firewall = [r for r in self.host.firewall if r.name.casefold() != name.casefold()]
        elif was == "disabled":
            self._set_enabled(name, False)
        result.update(outcome="reverted", after={"rule": self._rule_state(name)}, message=f"the rule {name} is {was} again")

    @carries_out(t.DisableFirewallRules)
    def _firewall_disable(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        names = [str(n) for n in item["action"]["names"]]

        def states() -> list[dict[str, str]]:
            return [{"name": n, "state": self._rule_state(n)} for n in names]

        result["before"] = {"rules": states()}
        if not reverting:
            gone = [s["name"] for s in result["before"]["rules"] if s["state"] == "absent"]
            enabled = [s["name"] for s in result["before"]["rules"] if s["state"] == "enabled"]
            if gone:
                result.update(outcome="changed", message="not there any more: " + ", ".join(gone))
                return
            if not enabled:
                result.update(outcome="already", message="the rules are already disabled")
                return
            for n in enabled:
                self._set_enabled(n, False)
            result.update(outcome="applied", after={"rules": states()}, message="disabled " + ", ".join(enabled))
            return
        recorded = item.get("recorded") or {}
        again, gone = [], []
        for rule in (recorded.get("before") or {}).get("rules") or []:
            if rule.get("state") != "enabled":
                continue
            now = self._rule_state(str(rule.get("name")))
            if now == "disabled":
                again.append(str(rule.get("name")))
            elif now != "enabled":
                gone.append(str(rule.get("name")))
        if not self.previewing:  # a preview decides as revert does and writes nothing
            for n in again:
                self._set_enabled(n, True)
            result["after"] = {"rules": states()}
        if gone:
            result.update(outcome="changed", message="not there any more, left alone: " + ", ".join(gone))
        elif not again:
            result.update(outcome="as-before", message="the rules are enabled, as before apply")
        else:
            verb = "would enable again: " if self.previewing else "enabled again: "
            result.update(outcome="reverted", message=verb + ", ".join(again))

    # ------------------------------------------------------------------ shares and folders

    def _share_state(self, name: str, scope: str | None = None) -> dict[str, Any]:
        share = next(iter(self._shares(name, scope)), None)
        if share is None:
            return {"share": "absent"}
        return {"share": "present", "path": share.path, "sddl": share.sddl}

    @carries_out(t.CreateShare)
    def _create_share(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        name, path = str(action["share"]), str(action["local_path"])
        scope = action.get("scope")
        state = self._share_state(name, scope)
        result["before"] = state
        if not reverting:
            if state["share"] == "present":
                if str(state["path"]).casefold() == path.casefold():
                    result.update(outcome="already", message=f"the share {name} is already there")
                else:
                    result.update(outcome="changed", message=f"a share {name} is there now, for {state['path']}")
                return
            created = False
            if self.host.item(path) is None:
                self.host.folders.append(SimFolder(path, NEW_FOLDER_SDDL))
                created = True
            self.host.shares.append(SimShare(name, path, scope=scope or "*"))  # New-SmbShare: Everyone Read
            result.update(outcome="applied", after={**self._share_state(name, scope), "folder_created": created},
                          message=f"shared {path} as {name}")
            return
        left = (item.get("recorded") or {}).get("after") or {}
        if state["share"] == "absent":
            result.update(outcome="as-before", message=f"the share {name} is not there, as before apply")
            return
        if str(state["path"]).casefold() != path.casefold() or (left.get("sddl") and state["sddl"] != left["sddl"]):
            result.update(outcome="changed", message=f"the share {name} is not as apply left it")
            return
        if self.previewing:
            result.update(outcome="reverted", message=f"would remove the share {name}; the folder stays")
            return
        gone = self._shares(name, scope)[:1]
        self.host.shares = [s for s in self.host.shares if s not in gone]
        result.update(outcome="reverted", after=self._share_state(name, scope),
                      message=f"removed the share {name}; the folder stays (it may hold data)")

    @carries_out(t.CreateFolder)
    def _create_folder(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        path = str(item["action"]["local_path"])
        present = self.host.item(path) is not None or self.host.exists(path)  # Test-Path: a file or a folder
        result["before"] = {"folder": present}
        if present:
            result.update(outcome="already", message=f"{path} is already there")
            return
        self.host.folders.append(SimFolder(path, NEW_FOLDER_SDDL))
        result.update(outcome="applied", after={"folder": True}, message=f"created {path}")

    @carries_out(t.RefreshTickets)
    def _kerberos_refresh(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        if self.previewing:
            result.update(outcome="reverted", message="would purge the computer's own Kerberos tickets again")
            return
        self.host.tickets_purged += 1
        result.update(outcome="applied", message="purged the computer's own Kerberos tickets (klist purge -li 0x3e7)")

    # ------------------------------------------------------------------ services

    def _service(self, name: str) -> WinObject:
        """Get-Service -Name: vmms as the host's Hyper-V state says; LanmanServer (the Server service) stopped
        exactly when TCP 445 is refused on this machine, which is how the lab models a stopped Server service."""
        status: str | None = None
        if name.casefold() == "vmms":
            status = self.host.vmms_status or ("Running" if self.host.hyperv_installed else None)
        elif name.casefold() == "lanmanserver":
            status = "Stopped" if self.host.smb_port == "refused" else "Running"
        if status is None:
            raise HostError(f"Cannot find any service with service name '{name}'.")
        return WinObject("ServiceController", Name=name, Status=status)

    @carries_out(t.StartService)
    def _start_service(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        name = str(action["service"])
        if reverting:
            raise HostError(f"revert does not stop the service {name} again (docs/fixes.md)")
        status = str(self._service(name).Status)
        result["before"] = {"status": status}
        if status == "Running":
            result.update(outcome="already", message=f"the service {name} is already running")
            return
        if action.get("before") and status != action["before"]:
            result.update(outcome="changed", message=f"the service {name} is {status} now, not {action['before']} as "
                                                     "read when planned")
            return
        if name.casefold() == "vmms":
            self.host.vmms_status = "Running"
        else:
            self.host.smb_port = "open"
        result.update(outcome="applied", after={"status": str(self._service(name).Status)},
                      message=f"started the service {name}")

    # ------------------------------------------------------------------ the time source

    def _time_type(self) -> str:
        return str(WinObject("W32TimeParameters", Type=self.host.time_source_type).Type)

    def _w32tm_config(self, flags: str) -> None:
        """w32tm /config /syncfromflags:<flags> /update: the Type each flag leaves (offlineprep.actions.time_sync)."""
        types = {flag: kind for kind, flag in SYNC_FROM_FLAGS.items()}
        if flags not in types:  # offlineprep sends only the flags of SYNC_FROM_FLAGS
            raise HostError(f"the lab does not model w32tm /config /syncfromflags:{flags}")
        self.host.time_source_type = types[flags]

    def _resync(self) -> None:
        """w32tm /resync: from the domain hierarchy, an offset over MaxAllowedPhaseOffset (300 s by default on a
        domain member) is set at once; a smaller one is corrected gradually, so it is still there right after
        (Microsoft, "Windows Time service tools and settings")."""
        # Group Policy's Type overwrites the service's own ("Windows Time service tools and settings"): a local
        # w32tm /config does not change what the service follows
        if (self.host.time_policy_type or self.host.time_source_type) != "NT5DS":
            return
        offset = self.host.clock_offset_seconds - self.host.domain_clock_offset_seconds
        if abs(offset) > MAX_ALLOWED_PHASE_OFFSET:
            self.host.clock_offset_seconds = self.host.domain_clock_offset_seconds

    @carries_out(t.SyncTime)
    def _time_sync(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        kind = self._time_type()
        result["before"] = {"type": kind}
        if not reverting:
            if kind != action["after_type"]:
                if action.get("before_type") and kind != action["before_type"]:
                    result.update(outcome="changed", message=f"the time source type is {kind} now, not "
                                                             f"{action['before_type']} as read when planned")
                    return
                self._w32tm_config(str(item.get("sync_flags")))
            result["after"] = {"type": self._time_type()}
            self._resync()
            now = result["after"]["type"]
            source = (f"the time source type was already {kind}" if now == kind
                      else f"the time source type is {now} (was {kind})")
            result.update(outcome="applied",
                          message=f"{source}; resynchronised with the domain hierarchy (w32tm /resync /rediscover)")
            return
        recorded = item.get("recorded") or {}
        was = str((recorded.get("before") or {}).get("type"))
        if kind == was:
            result.update(outcome="as-before", message=f"the time source type is {kind}, as before apply (the clock is "
                                                       "not set back)")
            return
        if kind != str((recorded.get("after") or {}).get("type")):
            result.update(outcome="changed", message=f"the time source type is {kind} now, not as apply left it")
            return
        if not item.get("restore_flags"):
            raise HostError(f"the time source type before apply, {was}, is not one w32tm /config /syncfromflags sets: "
                             "put it back by hand")
        if self.previewing:
            result.update(outcome="reverted", message=f"would make the time source type {was} again")
            return
        self._w32tm_config(str(item["restore_flags"]))
        result.update(outcome="reverted", after={"type": self._time_type()},
                      message=f"the time source type is {self._time_type()} again; the clock is not set back")

    # ------------------------------------------------------------------ the Replica server

    def _replica_settings(self) -> dict[str, str]:
        """Get-ReplicaSettings: each setting as text ('True'/'False', '' for none)."""
        rs = self.host.replication_server()

        def text(value: Any) -> str:
            if isinstance(value, bool):
                return "True" if value else "False"
            return "" if value is None else str(value)

        return {"ReplicationEnabled": text(bool(rs.ReplicationEnabled)),
                "AllowedAuthenticationType": text(rs.AllowedAuthenticationType),
                "ReplicationAllowedFromAnyServer": text(bool(rs.ReplicationAllowedFromAnyServer)),
                "DefaultStorageLocation": text(rs.DefaultStorageLocation),
                "CertificateThumbprint": text(rs.CertificateThumbprint)}

    def _set_replication_server(self, change: dict[str, str], kinds: dict[str, str]) -> None:
        home = self.host.replica_home()  # a cluster's broker holds the settings of every node
        settings: dict[str, Any] = dict(home.replication) if home.replication is not None else {
            "enabled": False, "kerberos_port": 80, "certificate_port": 443}
        for name, value in change.items():
            settings[_REPLICATION_KEYS[name]] = {"True": True, "False": False}[value] if kinds[name] == "bool" else value
        home.replication = settings

    @carries_out(t.ReplicaServerSettings)
    def _replica_server(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        for setting in item.get("settings") or []:  # Assert-ReplicaSettings: the whitelist, before anything else
            value = setting.get("restore") if reverting else setting.get("after")
            if reverting and value is None:
                continue
            if not writable_value(str(setting.get("name")), str(value)):
                raise HostError(f"a host.replica-server step does not write {setting.get('name')} = '{value}': "
                                "nothing was changed")
        now = self._replica_settings()
        result["before"] = now
        # ConvertTo-Setting: a boolean by the setting's name, not by what the request says
        kinds = {str(s["name"]): "bool" if s["name"] == "ReplicationEnabled" else "string"
                 for s in item.get("settings") or []}
        change: dict[str, str] = {}
        if not reverting:
            for setting in item.get("settings") or []:
                name, current = str(setting["name"]), now[str(setting["name"])]
                if current == setting["after"]:
                    continue
                if setting.get("before") is not None and current != setting["before"]:
                    result.update(outcome="changed", message=f"{name} of the Replica server is '{current}' now, not "
                                                             f"'{setting['before']}' as read when planned")
                    return
                change[name] = str(setting["after"])
            if not change:
                result.update(outcome="already", message="the Replica server settings are already the ones planned")
                return
            self._set_replication_server(change, kinds)
            result.update(outcome="applied", after=self._replica_settings(),
                          message="Set-VMReplicationServer " + ", ".join(sorted(change)))
            return
        for setting in item.get("settings") or []:
            if setting.get("restore") is None:
                continue
            name, current = str(setting["name"]), now[str(setting["name"])]
            if current == setting["restore"]:
                continue
            if current != setting.get("left"):
                result.update(outcome="changed", message=f"{name} of the Replica server is '{current}' now, not as "
                                                         "apply left it")
                return
            change[name] = str(setting["restore"])
        if not change:
            result.update(outcome="as-before", message="the Replica server settings are as before apply")
            return
        if self.previewing:
            result.update(outcome="reverted", message=f"would put back the Replica server's {', '.join(sorted(change))}")
            return
        self._set_replication_server(change, kinds)
        result.update(outcome="reverted", after=self._replica_settings(),
                      message=f"the Replica server's {', '.join(sorted(change))} are back as before apply")

    def _authorization_state(self, server: str) -> dict[str, str]:
        entry = next((e for e in self.host.authorization_entries()
                      if str(e.AllowedPrimaryServer).casefold() == server.casefold()), None)
        if entry is None:
            return {"entry": "absent"}
        return {"entry": "present", "storage_location": str(entry.ReplicaStorageLocation),
                "trust_group": str(entry.TrustGroup)}

    @carries_out(t.ReplicaAuthorization)
    def _replica_authorization(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        server = str(action["allowed_primary_server"])
        state = self._authorization_state(server)
        result["before"] = state
        if not reverting:
            if state["entry"] == "present":
                if state["storage_location"] == action["storage_location"]:
                    result.update(outcome="already", message=f"an entry for {server} is already there")
                else:
                    result.update(outcome="changed", message=f"an entry for {server} is there now, with the storage "
                                                             f"location {state['storage_location']}")
                return
            self.host.replica_home().replica_authorizations.append(SimAuthorization(server, str(action["storage_location"]),
                                                                     str(action["trust_group"])))
            result.update(outcome="applied", after=self._authorization_state(server),
                          message=f"authorized {server} (storage {action['storage_location']}, trust group "
                                  f"{action['trust_group']})")
            return
        if state["entry"] == "absent":
            result.update(outcome="as-before", message=f"no entry for {server}, as before apply")
            return
        left = (item.get("recorded") or {}).get("after") or {}
        if state.get("storage_location") != left.get("storage_location") or \
                state.get("trust_group") != left.get("trust_group"):
            result.update(outcome="changed", message=f"the entry for {server} is not as apply made it")
            return
        if self.previewing:
            result.update(outcome="reverted", message=f"would remove the entry for {server}")
            return
        home = self.host.replica_home()
        home.replica_authorizations = [a for a in home.replica_authorizations
                                      if a.allowed_primary_server.casefold() != server.casefold()]
        result.update(outcome="reverted", after=self._authorization_state(server),
                      message=f"removed the entry for {server}: this Replica server no longer accepts its replication")

    # ------------------------------------------------------------------ SMB name checking

    def _strict_names(self) -> int | None:
        value = WinObject("LanmanServerParameters",
                          DisableStrictNameChecking=self.host.strict_name_checking_disabled).DisableStrictNameChecking
        return None if value is None else int(value)

    @carries_out(t.AcceptAnyServerName)
    def _smb_name_checking(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        restart = ("the Server service reads it when it starts: Restart-Service LanmanServer -Force (it drops the open "
                   "SMB sessions) or restart the server")
        value = self._strict_names()
        result["before"] = {"value": value}
        if not reverting:
            if value == action["after"]:
                result.update(outcome="already", message="DisableStrictNameChecking is already 1")
                return
            if value != action.get("before"):
                result.update(outcome="changed", message=f"DisableStrictNameChecking is {value} now, not as read when "
                                                         "planned")
                return
            self.host.strict_name_checking_disabled = int(action["after"])
            result.update(outcome="applied", after={"value": self._strict_names()},
                          message=f"DisableStrictNameChecking = 1, so the server answers {action['alias']}; {restart}")
            return
        recorded = item.get("recorded") or {}
        was = (recorded.get("before") or {}).get("value")
        if value == was:
            result.update(outcome="as-before", message="DisableStrictNameChecking is as before apply")
            return
        if value != (recorded.get("after") or {}).get("value"):
            result.update(outcome="changed", message=f"DisableStrictNameChecking is {value} now, not as apply left it")
            return
        if self.previewing:
            result.update(outcome="reverted", message="would put DisableStrictNameChecking back as before apply")
            return
        self.host.strict_name_checking_disabled = None if was is None else int(was)  # Remove- or Set-ItemProperty
        result.update(outcome="reverted", after={"value": self._strict_names()},
                      message=f"DisableStrictNameChecking is back as before apply; {restart}")
