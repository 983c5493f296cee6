"""Section `paths`: each path of the request as this host sees it: share, folder, descriptors,
volume, DFS. A path of the wrong shape is kept by name with its error; when the local groups could
not be read, no path's rights can be judged, so each path says so."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import CollectionError, DfsFacts, ErrorKind, PathFacts, ShareFacts, VolumeFacts
from offlineprep.winrm.text import short


class ShareAnswer(Part):
    name: str
    path: str | None = None  # MSFT_SmbShare.Path, the local folder
    sddl: str | None = None  # MSFT_SmbShare.SecurityDescriptor
    scope: str | None = None  # MSFT_SmbShare.ScopeName: '*' or a client access point


class VolumeAnswer(Part):
    name: str | None = None  # Win32_Volume.Name: C:\, a mount point folder, or \\?\Volume{guid}\
    file_system: str | None = None  # empty: nothing mounted (offline, locked, unformatted)
    drive_type: int | None = None
    capacity: int | None = None
    free_space: int | None = None


class DfsAnswer(Part):
    namespace: str  # \\server-or-domain\namespace
    link: str | None = None  # the DFS link (Win32_DFSNode.Name) that holds the path, when this server knows it
    targets: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # \\server\share of the link
    domain_based: bool = False  # the UNC server is the domain's own name


class PathAnswer(Part):
    path: str  # as the site file wrote it
    local_path: str | None = None
    share_found: bool | None = None
    share: ShareAnswer | None = None
    share_scope: str | None = None  # the scope the path's server name reaches on this server
    share_scopes: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # scopes with that share name
    volume: VolumeAnswer | None = None
    dfs: DfsAnswer | None = None
    exists: bool | None = None
    is_directory: bool | None = None
    ntfs_sddl: str | None = None
    error: str | None = None


def facts(reading: Reading) -> dict[str, Any]:
    host, problems = reading.host, reading.problems
    paths = [_path_facts(p, host) for p in reading.answer.paths or []]
    for raw in reading.rejected.get("paths", []):
        if isinstance(raw, dict) and isinstance(raw.get("path"), str):
            paths.append(PathFacts(path=raw["path"], error=CollectionError(
                kind=ErrorKind.GARBAGE, message=f"{host} answered this path in the wrong shape: {problems['paths']}")))
    group_problem = reading.errors.get("local_groups") or problems.get("local_groups")
    if group_problem:
        for i, path in enumerate(paths):
            if path.error is None:
                paths[i] = path.model_copy(update={"error": CollectionError(
                    kind=ErrorKind.REMOTE, message=f"local groups could not be read: {short(group_problem)}")})
    return {"paths": paths}


def _path_facts(p: PathAnswer, host: str) -> PathFacts:
    share = p.share
    volume = p.volume
    error = CollectionError(kind=ErrorKind.REMOTE, message=short(p.error)) if p.error else None
    dfs = None
    if p.dfs is not None:
        dfs = DfsFacts(namespace=p.dfs.namespace, link=p.dfs.link, targets=list(p.dfs.targets),
                       domain_based=p.dfs.domain_based)
        where = f" (folder target: {', '.join(dfs.targets)})" if dfs.targets else ""
        error = CollectionError(kind=ErrorKind.REMOTE, message=(
            f"{p.path} is a path in the DFS namespace {dfs.namespace}{where}: its folders live on the folder "
            f"targets' servers, not on {host}; write the folder target's own path (\\\\server\\share\\folder) "
            "in the site file"))
    return PathFacts(
        path=p.path, local_path=p.local_path, exists=p.exists, is_directory=p.is_directory, ntfs_sddl=p.ntfs_sddl,
        share=ShareFacts(name=share.name, local_path=share.path, sddl=share.sddl, scope=share.scope) if share else None,
        share_found=p.share_found, share_scope=p.share_scope, share_scopes=list(p.share_scopes),
        free_bytes=volume.free_space if volume else None, total_bytes=volume.capacity if volume else None,
        volume=VolumeFacts(name=volume.name, file_system=volume.file_system, drive_type=volume.drive_type,
                           capacity_bytes=volume.capacity, free_bytes=volume.free_space) if volume else None,
        dfs=dfs, error=error,
    )


SECTION = Section("paths", {"paths": list_of(PathAnswer) | None}, facts)
