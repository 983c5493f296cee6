"""What every fix action shares: its owner, its id, its phase, the hooks each kind fills in, and the
PowerShell helpers the kinds' renderings use.

A fix is data. Each action names its owner (the domain controller, a file server or a Hyper-V host
it runs against), the state offlineprep saw before (from the facts) and the state it leaves, the
rights it needs, and a stable id derived from its content: the same change found by two checks is
one action. Each kind is one module of this package (its model, its PowerShell fix and revert, what
apply says about it and sends for it), registered once in `offlineprep.actions.kinds`; nothing reads
PowerShell text back. docs/fixes.md describes them.

The directory owner's name (the site's domain controller) is filled in by the pipeline, not by the
checks: `bound_to_directory`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from enum import Enum, StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from offlineprep.pwsh import quote, quote_list

OwnerKind = Literal["directory", "file-server", "hyperv-host"]
# how `offlineprep apply` carries a kind out: over LDAP through the domain's DC, or in apply.ps1 on the
# owner machine (None: never, the step is left to a person)
ApplyWay = Literal["ldap", "host"]


class Phase(str, Enum):
    """Where a change belongs in the fix script's safe order (offlineprep.model re-exports it)."""

    DIRECTORY = "directory"  # AD: delegation, account flags, SPNs
    SHARE = "share"  # share permissions
    NTFS = "ntfs"  # NTFS permissions
    LOCAL_GROUPS = "local-groups"  # local group membership on the file server
    HOST = "host"  # host settings: firewall, replication listener, moving a share
    REMINDER = "reminder"  # ticket purge, AD replication, manual decisions


# Rights, said once. Changing delegation settings needs the "Enable computer and user accounts to
# be trusted for delegation" user right (SeEnableDelegationPrivilege), which only Administrators of
# the domain hold on domain controllers by default (Microsoft: security policy setting of that name).
DELEGATION_RIGHTS = ("a Domain Admin, or an account that holds the right 'Enable computer and user accounts to be "
                     "trusted for delegation' (SeEnableDelegationPrivilege) on the domain controllers and may write "
                     "the computer object")


class FixSection(StrEnum):
    """The fix script's sections that are no machine (a machine's section is its name as written)."""

    AD = "AD"  # every directory action, through one domain controller
    MANUAL = "Manual"  # what cannot be scripted: steps to do by hand


class Owner(BaseModel):
    """Where an action runs: the directory (through one domain controller) or one Windows machine.

    For the directory, `name` is the domain controller every AD cmdlet is sent to (`-Server`): the
    host of the site's [directory] server URL, filled in by the pipeline (None until then). For a
    machine, it is the name as the site file writes it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: OwnerKind
    name: str | None = None

    @property
    def section(self) -> str:
        """The fix script's section key (its -Section value)."""
        return FixSection.AD if self.kind == "directory" else (self.name or "?")


DIRECTORY = Owner(kind="directory")


def machine_name(owner: Owner | None) -> str:
    """The owner machine's name ("" for none): the target ShouldProcess shows starts with it."""
    return owner.name or "" if owner is not None else ""


def file_server(name: str) -> Owner:
    return Owner(kind="file-server", name=name)


def hyperv_host(name: str) -> Owner:
    return Owner(kind="hyperv-host", name=name)


class ActionBase(BaseModel):
    """Fields every action has. `id` is derived from everything else (a hash), never chosen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    id: str = ""
    owner: Owner | None
    rights: str = ""

    phase: ClassVar[Phase] = Phase.REMINDER
    modules: ClassVar[tuple[str, ...]] = ()
    revertible: ClassVar[bool] = True
    # run on the owner machine itself, by someone signed in there, not through WinRM from elsewhere
    on_the_machine: ClassVar[bool] = False
    # how apply carries the kind out (None: never, a person does: `by_hand` says why)
    apply_way: ClassVar[ApplyWay | None] = None
    # the ticket purge: last of all, once per host, and only after a change in AD (again after a revert)
    follows_ad_changes: ClassVar[bool] = False
    # fields added after ids were first recorded: left out of the id while None, so an action without
    # them keeps the id it always had (plans and records written before stay valid)
    optional_in_id: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def kind_name(cls) -> str:
        """The kind string, as its module writes it once (the `kind` field's only value)."""
        return str(cls.model_fields["kind"].default)

    def model_post_init(self, context: Any, /) -> None:
        content = self.model_dump(mode="json", exclude={"id"})
        for name in self.optional_in_id:
            if content.get(name) is None:
                content.pop(name, None)
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=True).encode()).hexdigest()
        object.__setattr__(self, "id", f"{self.kind}:{digest[:16]}")  # frozen: set once, from the content

    def bound_to_directory(self, server: str | None) -> ActionBase:
        """This action with every directory owner that names no domain controller yet naming `server`."""
        data = self.model_dump(mode="json", exclude={"id"})
        changed = _bind(data, server)
        return type(self).model_validate(data) if changed else self

    def describe(self) -> tuple[str, str]:
        """(target, what): the two strings ShouldProcess shows."""
        raise NotImplementedError

    def runs_on(self) -> str:
        """Where it runs, in the words of the fix script's section header and the report."""
        return runs_on(self.owner, on_the_machine=self.on_the_machine)

    def placement(self) -> str:
        """Where it runs and as whom (the report's line under a fix), as the fix script's section
        headers say it."""
        return f"Runs on: {self.runs_on()}." + (f" Runs as: {self.rights}." if self.rights else "")

    def rebuilt(self, **changes: object) -> ActionBase:
        """This action with `changes`, its id derived again from its content."""
        data = self.model_dump(mode="json", exclude={"id"})
        data.update(changes)
        return type(self).model_validate(data)

    # ------------------------------------------------------------------ what each kind fills in

    def fix_lines(self) -> list[str]:
        """The PowerShell lines that make the change, runnable as they stand."""
        raise TypeError(f"no PowerShell rendering for {type(self).__name__}")

    def revert_lines(self) -> list[str]:
        """The PowerShell lines that put back the state seen before ([] where nothing is undone);
        called only for a kind that is `revertible`."""
        return []

    def change(self) -> str:
        """From which state to which, in words, as the plan holds them (apply's dry run and record)."""
        return ""

    def apply_rights(self) -> str:
        """What the account needs for apply to carry the action out."""
        return self.rights

    def by_hand(self) -> str | None:
        """Why apply leaves this action to a person, asked before `apply_way` (a manual step, a change
        on the machine itself, one value of a kind apply otherwise does); None: `apply_way` decides."""
        return None

    def reverted_by_apply(self) -> bool:
        """Whether `offlineprep revert` puts this action back."""
        return self.revertible

    def not_reverted(self) -> str:
        """Why revert leaves it as it is (the record's message)."""
        return "not undone (docs/fixes.md)"

    def chain_key(self) -> tuple[str, str] | None:
        """The attribute of an object whose states the plan chains from step to step (`chained`)."""
        return None

    def chained(self, states: dict[Any, Any]) -> ActionBase | None:
        """This action starting from the state the steps before it leave (`states`, which it updates);
        None when nothing is left for it to do. Only the kinds that have a `chain_key` chain."""
        return self

    def host_request(self, recorded: dict[str, Any] | None) -> dict[str, Any]:
        """What apply.ps1 needs beyond the action itself (`recorded`: for a revert, the state apply read
        before and left after)."""
        return {}

    def assumed_before(self) -> dict[str, Any] | None:
        """For a host step whose apply outcome is unknown (nothing was read back): the state the plan saw."""
        return None

    def assumed_after(self) -> dict[str, Any] | None:
        """For a host step whose apply outcome is unknown: the state apply would have left."""
        return None


def runs_on(owner: Owner | None, *, on_the_machine: bool = False) -> str:
    """Where an action of `owner` runs, in words. The one wording of it: the fix script's section
    headers and the report's line under each fix both come from here."""
    if owner is None or (owner.kind != "directory" and not owner.name):
        return "no machine: it is a step to do by hand"
    if owner.kind == "directory":
        return ("any machine with the ActiveDirectory module (RSAT-AD-PowerShell); every change is sent to "
                + (f"{owner.name} (-Server), the site's [directory] server" if owner.name
                   else "the nearest domain controller"))
    if on_the_machine:
        return (f"{owner.name} itself, signed in there (WinRM cannot reach it before this; anywhere else the step "
                "only checks whether it answers)")
    return f"{owner.name}, through Invoke-Command (WinRM) from the machine running the fix script"


def _bind(data: Any, server: str | None) -> bool:
    changed = False
    if isinstance(data, dict):
        if data.get("kind") == "directory" and set(data) <= {"kind", "name"} and not data.get("name") and server:
            data["name"] = server
            return True
        for value in data.values():
            changed = _bind(value, server) or changed
    elif isinstance(data, list):
        for value in data:
            changed = _bind(value, server) or changed
    return changed




# --------------------------------------------------------------------------- PowerShell, for the kinds' renderings

INDENT = "    "


def server_parameter(owner: Owner | None) -> str:
    """` -Server '<DC>'` for an AD cmdlet of a directory action bound to its domain controller."""
    return f" -Server {quote(owner.name)}" if owner is not None and owner.kind == "directory" and owner.name else ""


def remote(owner: Owner | None, params: str, body: list[str], args: Sequence[str | list[str]]) -> list[str]:
    """`body` run on the owner machine, its values passed as data to `param(...)`."""
    machine = owner.name if owner is not None and owner.name else "localhost"
    return script_block(f"-ComputerName {quote(machine)} ", params, body, args)


def here(params: str, body: list[str], args: Sequence[str | list[str]]) -> list[str]:
    """`body` run in this session (Invoke-Command without -ComputerName needs no WinRM), its values
    passed as data to `param(...)` as on a remote machine."""
    return script_block("", params, body, args)


def script_block(where: str, params: str, body: list[str], args: Sequence[str | list[str]]) -> list[str]:
    values = ", ".join(quote_list(a) if isinstance(a, list) else quote(a) for a in args)
    # one array argument needs the unary comma: @(@('a', 'b')) is flattened into two arguments
    argument_list = f"(, {values})" if len(args) == 1 and isinstance(args[0], list) else f"@({values})"
    return ([f"Invoke-Command {where}-ArgumentList {argument_list} -ScriptBlock {{",
             f"{INDENT}param({params})", f"{INDENT}$ErrorActionPreference = 'Stop'"]
            + [INDENT + line for line in body] + ["}"])


def not_read(a: ActionBase, what: str, how: str) -> list[str]:
    """The revert of a setting whose state before the fix was not read: a warning, never a guess."""
    machine = a.owner.name if a.owner is not None and a.owner.name else "the machine"
    return [f"Write-Warning {quote(f'{what} of {machine} before the fix was not read: review it by hand ({how})')}"]
