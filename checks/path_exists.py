"""path.exists: the export and import paths exist and are folders (and the share exists).

The export writes one subfolder per VM under the export path; Hyper-V does not create the path
itself, and a share name that does not exist on the server fails with "network name not found".
Facts are read on the server that holds the path, never through a second hop.

The share is the one the path's server name reaches: on a clustered file server a share is scoped
to a client access point and served only under that name (MSFT_SmbShare ScopeName; Microsoft,
"File Share 'Scoping' in Windows Server 2008 Failover Clusters"), so a share of the same name in
another scope does not count, and the failure names the scope that holds it.

Not judged (`error`): a path on a volume that is not ready (offline, locked by BitLocker, not
formatted: Get-Item would call it "not found"), and a path in a DFS namespace, `\\\\<domain>\\<namespace>\\...`
(a domain-based namespace: the server part is the domain's own name, DFS_INFO_2 EntryPath) or a
folder that is a DFS link on the namespace server: its data lives on the folder targets' servers,
so the verdict of the namespace server's (often a domain controller's) folder would be about the
wrong machine; the message asks for the folder target's own path.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.names import PathRef, domain_key
from offlineprep.remediation import create_folder, create_share


@check(
    "path.exists",
    title="Export and import paths exist and are folders",
    severity="high",
    needs=[Need.PATH_COMPUTERS],
    walkthrough_step="Prepare for offline initial replication: export path and import path",
    why=(
        "The export writes one folder per virtual machine under the export path, and the import reads "
        "them from the import path. Hyper-V does not create these paths, and a share name that does not "
        "exist fails with 'network name not found' when the job starts."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Import-VMInitialReplication":
            "https://learn.microsoft.com/powershell/module/hyper-v/import-vminitialreplication",
    },
)
def path_exists(ctx: CheckContext) -> Iterator[Outcome]:
    for ref in ctx.inventory.path_refs:
        yield judge_path(ctx, ref)


def judge_path(ctx: CheckContext, ref: PathRef) -> Outcome:
    domain = domain_namespace(ctx, ref)
    if domain is not None:
        return checkkit.error(ref.raw, f"{ref.raw} is a path in a domain-based DFS namespace (\\\\{ref.server} is the "
                              f"domain {domain}): its folders live on the folder targets' servers, not on a domain "
                              "controller; write the folder target's own path (\\\\server\\share\\folder) in the "
                              "site file", evidence={"server": ref.server, "domain": domain})
    _, facts, problem = checkkit.path_facts(ctx, ref, ref.raw)
    if facts is None or problem is not None:  # a path the server could not read says why (access denied, ...)
        assert problem is not None
        return problem
    evidence = {"server": ref.server, "local_path": facts.local_path, "share": ref.share,
                "exists": facts.exists, "is_directory": facts.is_directory, "share_found": facts.share_found,
                "share_scope": facts.share_scope, "share_scopes": facts.share_scopes}
    elsewhere = [s for s in facts.share_scopes if s.casefold() != (facts.share_scope or "*").casefold()]
    if ref.is_unc and facts.share_found is False and elsewhere:
        reached = "the default scope '*'" if (facts.share_scope or "*") == "*" else f"the scope {facts.share_scope}"
        where = ", ".join(f"\\\\{s}\\{ref.share}" if s != "*" else "scope '*' (the server's own names)"
                          for s in elsewhere)
        return Outcome(
            status=Status.FAIL, subject=ref.raw, evidence=evidence,
            message=(f"{ref.server} serves no share {ref.share} under the name {ref.server} ({reached}): a share "
                     f"{ref.share} exists on that server only in another scope, served under another name: {where}; "
                     "write that name in the site file, or create the share in the scope of this name"),
        )
    if ref.is_unc and facts.share_found is False:
        local = facts.local_path or "D:\\" + (ref.share or "Share")
        return Outcome(
            status=Status.FAIL, subject=ref.raw, evidence=evidence,
            message=f"{ref.server} has no share named {ref.share}",
            # in the scope the path's server name reaches: a clustered file server role's access point
            remediation=create_share(ref.server, ref.share or "", local, scope=facts.share_scope),
        )
    if facts.exists is None:
        return checkkit.error(ref.raw, f"{ref.server} did not say whether {ref.raw} exists")
    if not facts.exists:
        local = facts.local_path or ref.local_path or ref.raw
        return Outcome(
            status=Status.FAIL, subject=ref.raw, evidence=evidence,
            message=f"{ref.raw} does not exist on {ref.server}" + (f" ({local})" if local != ref.raw else ""),
            remediation=create_folder(ref.server, local),
        )
    if facts.is_directory is False:
        return Outcome(status=Status.FAIL, subject=ref.raw, evidence=evidence,
                       message=f"{ref.raw} exists on {ref.server} but is a file, not a folder")
    return Outcome(status=Status.PASS, subject=ref.raw, evidence=evidence,
                   message=f"{ref.raw} is a folder on {ref.server}" +
                   (f" ({facts.local_path})" if facts.local_path else ""))


def domain_namespace(ctx: CheckContext, ref: PathRef) -> str | None:
    """The domain a UNC path's server part names, when it names the domain read (its DNS name or
    NetBIOS name) rather than a computer: such a path is a domain-based DFS namespace."""
    directory = ctx.directory
    if directory is None or not ref.is_unc or ref.server_is_ip:
        return None
    server = domain_key(ref.server)
    for dns, netbios in directory.all_domains().items():  # every domain read, with several
        if server == dns:
            return directory.domain_dns_name if dns == domain_key(directory.domain_dns_name) else dns
        if netbios and server is not None and "." not in server and server == domain_key(netbios):
            found = directory.find_computer(ref.server)
            if found is None or not found.found:  # no computer of that name: the name is the domain's
                return netbios
    return None
