"""path.alias: a path that reaches its file server by a DNS alias works under that alias.

A path `\\\\files.contoso.com\\ASRExport` whose server answers WinRM as FS01 uses an alias (a CNAME,
or a second A record). Two things must then hold, or the host's SMB session fails (Microsoft KB
3181029, "SMB file server share access is unsuccessful through DNS CNAME alias": the session setup
fails with KRB_AP_ERR_MODIFIED, "Logon Failure: The target account name is incorrect"):

1. Kerberos: the serving machine's account holds `HOST/<alias>` (or `cifs/<alias>`): the client asks
   for a ticket to the alias, and the KDC must encrypt it with FS01's key. KB 3181029 registers
   both forms with `setspn -a host/alias`; `netdom computername FS01 /add:<alias>` does it for an
   alternate computer name ("This command automatically registers SPNs for the alternate names").
2. The SMB server accepts the name: it is an alternate computer name of the machine (netdom
   computername /add, kept in Dnscache\\Parameters AlternateComputerNames), one of its NetBIOS
   aliases (LanmanServer\\Parameters OptionalNames), or strict name checking is off
   (LanmanServer\\Parameters DisableStrictNameChecking = 1, KB 3181029's resolution).

3. SMB server name hardening (Get-SmbServerConfiguration SmbServerNameHardeningLevel; the policy
   "Microsoft network server: Server SPN target name validation level"): at 1 ("accept if provided by
   client") or 2 ("required from client") the SMB server accepts a session only when the SPN the client
   sends (cifs/<alias>) matches its own list of names. An alternate computer name is one of them;
   DisableStrictNameChecking and OptionalNames only let the server answer to another name, so under
   hardening they do not make the alias work (docs/host-unverified.md: measured on no Windows here).

Skips a local path, a path written by IP address (no alias: ad.delegation judges IP paths), a
path that uses the machine's own name (short or FQDN), and the client access point of a clustered
file server (its share is scoped to that name: MSFT_SmbShare.ScopeName).

Fixes: `ad.spn` registers `HOST/<alias>` on the serving machine's account (the same action
ad.delegation-target builds, so the fix script writes it once), moving it off another account
that holds it. Where the SMB server does not answer to the alias, the fix follows Microsoft's
guidance for alternate names: `netdom computername FS01 /add:<alias>` on the file server (it records
the alternate name and registers its SPNs, and the name holds under name hardening), a step by hand
(it writes the computer object as a domain administrator); not DisableStrictNameChecking or
OptionalNames, which hardening does not honour.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from offlineprep import checkkit
from offlineprep.actions import ActionBase
from offlineprep.actions.types import SpnHolderRef, file_server
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import DirectoryFacts, HostFacts, PathFacts, SpnHolder
from offlineprep.model import Outcome, Status
from offlineprep.names import HostName, PathRef
from offlineprep.remediation import ClientAccessPointSpn, manual, move_spn, remediation


@check(
    "path.alias",
    title="A path that names its file server by a DNS alias works under that alias",
    severity="high",
    needs=[Need.DIRECTORY, Need.PATH_COMPUTERS],
    walkthrough_step="Prepare for offline initial replication: the export and import paths",
    why=(
        "When a path names its file server by a DNS alias, the host asks Kerberos for a ticket to the alias and the "
        "file server must accept that name. Without the alias's service principal name on the file server's account, "
        "or with the SMB server refusing a name that is not its own, the session fails with 'The target account name "
        "is incorrect' and the export or import never starts."
    ),
    docs={
        "SMB file server share access is unsuccessful through DNS CNAME alias":
            "https://learn.microsoft.com/troubleshoot/windows-server/networking/dns-cname-alias-cannot-access-smb-file-server-share",
        "NetAddAlternateComputerName (what netdom computername /add calls)":
            "https://learn.microsoft.com/windows/win32/api/lmjoin/nf-lmjoin-netaddalternatecomputername",
        "setspn":
            "https://learn.microsoft.com/windows-server/administration/windows-commands/setspn",
        "Netdom computername (alternate computer names)":
            "https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2012-r2-and-2012/cc835082(v=ws.11)",
        "Microsoft network server: Server SPN target name validation level (SmbServerNameHardeningLevel)":
            "https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/"
            "security-policy-settings/microsoft-network-server-server-spn-target-name-validation-level",
    },
)
def alias(ctx: CheckContext) -> Iterator[Outcome]:
    for ref in ctx.inventory.path_refs:
        if not ref.is_unc:
            yield checkkit.skip(ref.raw, f"{ref.raw} is a local path: no name is resolved to reach it")
        elif ref.server_is_ip:
            yield checkkit.skip(ref.raw, f"{ref.raw} is written by IP address: no alias (ad.delegation judges an IP "
                                         "path)")
        else:
            yield judge(ctx, ref)


def judge(ctx: CheckContext, ref: PathRef) -> Outcome:
    server, path, problem = checkkit.path_facts(ctx, ref, ref.raw)
    if server is None:
        assert problem is not None
        return problem
    own = server.computer_name
    name = HostName(ref.server).bare
    if not own:
        return checkkit.error(ref.raw, f"{ref.server} did not report its own name{server.why_missing('identity')}")
    if HostName(name).same_machine(own):  # the machine answered through `name`: its domain is its own
        return checkkit.skip(ref.raw, f"{ref.raw} uses the machine's own name ({own})")
    if _scope(path, name):
        return checkkit.skip(ref.raw, f"{name} is a client access point of a clustered file server on {own}: the share "
                                      "is scoped to it")
    directory, problem = checkkit.directory(ctx, ref.raw)
    if directory is None:
        assert problem is not None
        return problem
    holders = directory.find_spn_holders(name)
    if holders is None:
        return checkkit.directory_missing(directory, ref.raw, f"the SPN holders of {name}")
    keeper_id, keeper_sam = _serving_account(directory, own)
    evidence: dict[str, Any] = {"alias": name, "serving_machine": own, "serving_account": keeper_sam,
                                "spn_holders": [{"spn": h.spn, "account": h.sam_account_name or h.distinguished_name}
                                                for h in holders]}
    problems, actions = [], []
    held = [h for h in holders if _held_by(h, keeper_id, keeper_sam)]
    others = [h for h in holders if not _held_by(h, keeper_id, keeper_sam)]
    if not held:
        if others:
            problems.append(f"{', '.join(sorted({h.spn for h in others}))} is held by "
                            f"{', '.join(sorted({h.sam_account_name or h.distinguished_name for h in others}))}, not by "
                            f"{keeper_sam}, the account of {own}: tickets for {name} are encrypted for another machine")
            try:
                actions += _move(others, keeper_id, keeper_sam, checkkit.client_access_point_accounts(ctx))
            except ClientAccessPointSpn:  # issue 19: a role's SPNs are never taken off its computer object
                actions.append(manual(f"{', '.join(sorted({h.sam_account_name or h.distinguished_name for h in others}))} "
                                      "is the computer object of a client access point of a failover cluster: its "
                                      f"SPNs belong to it. Decide by hand whether the path should use {name}, and "
                                      "never move the role's SPNs onto another machine"))
        else:
            problems.append(f"no account holds HOST/{name}: the host cannot get a Kerberos ticket for {name}")
            actions.append(move_spn(f"HOST/{name}", add_to=keeper_id, add_to_label=keeper_sam))
    accepted, how = _accepted(server, name)
    evidence["server_names"] = server.server_names.model_dump() if server.server_names is not None else None
    if accepted is False:
        problems.append(f"the SMB server of {own} does not answer to {name}: {how}")
        actions.append(manual(f"On {own}, as a domain administrator: netdom computername {own} /add:{name} (records "
                              f"{name} as an alternate computer name of {own} and registers its SPNs; Microsoft's way "
                              "for an alias, which holds under SMB server name hardening), then restart the Server "
                              "service or the machine", file_server(ref.server)))
    if problems:
        return Outcome(status=Status.FAIL, subject=ref.raw, evidence=evidence,
                       message=f"{name} is an alias of {own}: " + "; ".join(problems),
                       remediation=remediation(f"Make {own} answer to {name}", actions))
    if accepted is None:
        return checkkit.error(ref.raw, f"{name} is an alias of {own} and {keeper_sam} holds its SPN, but which names the "
                              f"SMB server answers to was not read{server.why_unread('server_names', ctx.facts_file)}",
                              evidence=evidence)
    return Outcome(status=Status.PASS, subject=ref.raw, evidence=evidence,
                   message=f"{name} is an alias of {own}: {keeper_sam} holds {', '.join(sorted({h.spn for h in held}))} "
                           f"and the SMB server answers to it ({how})")


def _scope(path: PathFacts | None, name: str) -> bool:
    scope = path.share_scope if path is not None else None
    return bool(scope and scope != "*" and HostName(scope) in {HostName(name), HostName(HostName(name).short)})


def _accepted(server: HostFacts, name: str) -> tuple[bool | None, str]:
    """Whether the SMB server answers to `name`, and how (or why not)."""
    names = server.server_names
    if names is None:
        return None, ""
    wanted = HostName(name)
    for alternate in names.alternate_names:
        given = HostName(alternate)
        if given in {wanted, HostName(wanted.label)} or given.label == wanted.key:
            return True, f"{alternate} is an alternate computer name"
    lax = []
    if names.disable_strict_name_checking == 1:
        lax.append("strict name checking is off")
    lax += [f"{o} is a NetBIOS alias (OptionalNames)" for o in names.optional_names
            if o.casefold() == wanted.netbios.casefold()]
    level = names.name_hardening_level or 0
    if lax and level >= 1:
        return False, (f"{' and '.join(lax)}, but SMB server name hardening is on (SmbServerNameHardeningLevel "
                       f"{level}): the SPN the client sends, cifs/{name}, must match one of the server's own names, "
                       "and only an alternate computer name is one")
    if lax:
        return True, lax[0]
    return False, "it is no alternate computer name or NetBIOS alias of it, and strict name checking is on"


def _serving_account(directory: DirectoryFacts, machine: str) -> tuple[str, str]:
    """Get-ADComputer -Identity of the serving machine (its DN when read, else its sAMAccountName
    without the $) and its sAMAccountName, as ad.delegation-target names them."""
    for known in directory.computers.values():
        if known.found and known.dns_host_name and HostName(known.dns_host_name) == machine:
            sam = known.sam_account_name or HostName(machine).computer_account
            return known.distinguished_name or sam.rstrip("$"), sam
    sam = HostName(machine).computer_account
    return sam.rstrip("$"), sam


def _held_by(holder: SpnHolder, identity: str, sam: str) -> bool:
    if holder.distinguished_name.casefold() == identity.casefold():
        return True
    return bool(holder.sam_account_name) and (holder.sam_account_name or "").casefold() == sam.casefold()


def _move(holders: list[SpnHolder], identity: str, sam: str, guarded: set[str]) -> list[ActionBase]:
    actions: list[ActionBase] = []
    for spn in sorted({h.spn for h in holders}, key=str.casefold):
        refs = [SpnHolderRef(distinguished_name=h.distinguished_name, spn=h.spn,
                             label=h.sam_account_name or h.distinguished_name) for h in holders if h.spn == spn]
        actions.append(move_spn(spn, add_to=identity, add_to_label=sam, remove_from=refs, before=refs,
                                never_from=guarded))
    return actions
