"""ad.replicated: every writable DC of each domain holds the same judged values for the judged objects.

A Hyper-V host asks a DC of its own AD site for its tickets (DsGetSiteName: "the name of the site where a
computer resides"; the KDC it finds is one of that site's DCs). The other ad.* checks read the one DC
the site file names. After delegation is fixed on one DC (by hand, with the fix script or with
`apply`), the other DCs have it only once replication has carried it there: minutes within a site,
the site link's schedule between sites, never over a broken link. Until then a host of another site
is refused S4U2Proxy by its own DC's KDC (measured with two Samba DCs: a delegation written only on
DC1 is honoured by DC1's KDC and refused by DC2's, docs/replication.md), and the export fails with
access denied although the named DC says READY.

So the collector reads the judged attributes of the judged objects on every writable DC
(offlineprep.collect.dc_readings: msDS-AllowedToDelegateTo, the delegation bits of
userAccountControl, servicePrincipalName, memberOf, msDS-AllowedToActOnBehalfOfOtherIdentity), and
this check fails, blocking, for each object and attribute on which two DCs disagree: which DC holds
what, when it changed and on which DC (the replication metadata: msDS-ReplAttributeMetaData,
DS_REPL_ATTR_META_DATA_2, "replication of the change does not affect" the originating time and DC),
and which DC does not have it yet, with its site and the hosts of that site. The fix is to wait for
replication or to force it (`repadmin /syncall <DC> /AdeP`: all partitions, across sites, push from
the named DC; or `repadmin /replicate <behind DC> <DC that has it> <domain NC>`), then run again.
A DC with inbound replication disabled (nTDSDSA options NTDSDSA_OPT_DISABLE_INBOUND_REPL) is named:
it will not catch up by itself.

A DC that could not be read is an `error` for the objects it would have confirmed, with that DC as the
one cause. Read-only DCs are listed and not read (nothing is written to them). With one writable DC
there is nothing to compare: pass. A facts file collected before DCs were read: skip.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import AttributeChange, DcObject, DirectoryFacts, DomainController
from offlineprep.model import CauseOrigin, Outcome, Phase, Remediation, Status

# how each judged attribute is named in messages
WHAT = {"msDS-AllowedToDelegateTo": "msDS-AllowedToDelegateTo (constrained delegation)",
        "userAccountControl": "the delegation flags of userAccountControl",
        "servicePrincipalName": "servicePrincipalName",
        "memberOf": "the group membership (memberOf)",
        "msDS-AllowedToActOnBehalfOfOtherIdentity": "msDS-AllowedToActOnBehalfOfOtherIdentity (resource-based delegation)"}


@check(
    "ad.replicated",
    title="Every writable domain controller holds the same delegation, SPNs and groups",
    severity="high",
    needs=[Need.DIRECTORY],
    walkthrough_step="Prepare for offline initial replication: constrained delegation to the cifs service of the path computers",
    why=(
        "Each Hyper-V host gets its Kerberos tickets from a domain controller of its own AD site. A delegation "
        "fixed on one DC reaches the others only through AD replication: until it has, a host served by another "
        "DC is refused, and the export fails with access denied although the DC that was read looks right."
    ),
    docs={
        "Understanding replication between sites (site links and their schedules)":
            "https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2008-r2-and-2008/cc771251(v=ws.11)",
        "repadmin /syncall":
            "https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2012-r2-and-2012/cc835086(v=ws.11)",
        "DS_REPL_ATTR_META_DATA_2 (what msDS-ReplAttributeMetaData holds)":
            "https://learn.microsoft.com/windows/win32/api/ntdsapi/ns-ntdsapi-ds_repl_attr_meta_data_2",
        "DsGetSiteName (the site a computer is in)":
            "https://learn.microsoft.com/windows/win32/api/dsgetdc/nf-dsgetdc-dsgetsitenamew",
    },
)
def replicated(ctx: CheckContext) -> Iterator[Outcome]:
    view, problem = checkkit.directory(ctx, "Active Directory")
    if problem is not None or view is None:
        if problem is not None:
            yield problem
        return
    for directory in (ctx.facts.directories or {}).values():
        yield from judge_domain(ctx, directory)


def _domain(directory: DirectoryFacts) -> str:
    return directory.domain_dns_name or directory.server.split("://", 1)[-1]


def _dc_label(dc: DomainController) -> str:
    return f"{dc.host_name} (site {dc.site})" if dc.site else dc.host_name


def host_sites(ctx: CheckContext) -> dict[str, str]:
    """Each Hyper-V host's AD site as the host reported it (Netlogon SiteName or DynamicSiteName)."""
    out = {}
    for role in checkkit.hyperv_hosts(ctx):
        host = ctx.facts.find_host(role.name)
        if host is not None and host.ad_site:
            out[role.name] = host.ad_site
    return out


def judge_domain(ctx: CheckContext, directory: DirectoryFacts) -> Iterator[Outcome]:
    domain = _domain(directory)
    dcs = directory.domain_controllers
    sites = host_sites(ctx)
    if dcs is None and directory.error is not None:  # the directory itself could not be read
        yield checkkit.error(domain, f"the domain controllers of {domain} could not be listed: "
                             f"{directory.error.message}", cause=checkkit.collection_cause(
                                 CauseOrigin.DIRECTORY, directory.server.split("://", 1)[-1].split("/", 1)[0],
                                 directory.error))
        return
    if dcs is None:
        yield checkkit.skip(domain, "these facts were collected before offlineprep read every domain controller: "
                            "collect again to compare them")
        return
    writable = [dc for dc in dcs if not dc.read_only]
    evidence = {"domain_controllers": [_dc_evidence(dc) for dc in dcs], "host_sites": sites}
    if not writable:
        yield checkkit.skip(domain, f"no writable domain controller of {domain} is listed in the configuration "
                            f"(CN=Sites): only {directory.server} was read", evidence=evidence)
        return
    if len(writable) == 1:
        yield Outcome(status=Status.PASS, subject=domain, evidence=evidence,
                      message=f"{domain} has one writable domain controller, {_dc_label(writable[0])}: "
                              f"nothing to replicate{_sites_sentence(sites, writable)}")
        return
    read = [dc for dc in writable if dc.error is None]
    unread = [dc for dc in writable if dc.error is not None]
    names = _object_names(directory)
    dns = list(dict.fromkeys(dn for dc in read for dn in dc.objects))
    agreed = 0
    for dn in dns:
        subject = names.get(dn, dn)
        readings = [(dc, dc.objects[dn]) for dc in read if dn in dc.objects]
        problems = list(_disagreements(subject, readings, writable, sites))
        if problems:
            yield Outcome(status=Status.FAIL, subject=subject, message="; ".join(problems),
                          evidence={"distinguished_name": dn, "on_each_dc": {
                              dc.host_name: obj.values if obj.found else None for dc, obj in readings},
                              **evidence}, remediation=_sync(domain, readings, writable))
        elif unread:
            first = unread[0]
            assert first.error is not None
            yield checkkit.error(subject, f"not confirmed on {', '.join(_dc_label(dc) for dc in unread)}: "
                                 f"{first.error.message}", evidence={"distinguished_name": dn, **evidence},
                                 cause=checkkit.collection_cause(CauseOrigin.DIRECTORY, first.host_name, first.error))
        else:
            agreed += 1
    if unread and not read:
        first = unread[0]
        assert first.error is not None
        yield checkkit.error(domain, f"no domain controller of {domain} could be read: {first.error.message}",
                             evidence=evidence,
                             cause=checkkit.collection_cause(CauseOrigin.DIRECTORY, first.host_name, first.error))
    elif agreed == len(dns) and not unread:
        yield Outcome(status=Status.PASS, subject=domain, evidence=evidence,
                      message=f"the {len(writable)} writable domain controllers of {domain} "
                              f"({', '.join(_dc_label(dc) for dc in writable)}) hold the same values for the "
                              f"{len(dns)} objects judged{_sites_sentence(sites, writable)}")


def _dc_evidence(dc: DomainController) -> dict[str, object]:
    return {"host_name": dc.host_name, "site": dc.site, "named": dc.named, "read_only": dc.read_only,
            "inbound_disabled": dc.inbound_disabled, "searches": dc.searches, "seconds": dc.seconds,
            "error": dc.error.message if dc.error else None}


def _sites_sentence(sites: dict[str, str], dcs: list[DomainController]) -> str:
    """The Hyper-V hosts by AD site, with the DCs of each site (whose KDCs issue their tickets)."""
    if not sites:
        return ""
    by_site: dict[str, list[str]] = {}
    for host, site in sorted(sites.items()):
        by_site.setdefault(site, []).append(host)
    parts = []
    for site, members in by_site.items():
        serving = [dc.host_name for dc in dcs if dc.site and dc.site.casefold() == site.casefold()]
        shown = ", ".join(members[:5]) + (f" and {len(members) - 5} more" if len(members) > 5 else "")
        parts.append(f"site {site} ({', '.join(serving) or 'no writable DC of its own'}): {shown}")
    return "; Hyper-V hosts by site: " + "; ".join(parts)


def _object_names(directory: DirectoryFacts) -> dict[str, str]:
    """DN -> the name the run knows the object by (the site file's spelling where it has one)."""
    names: dict[str, str] = {}
    for holders in directory.spn_holders.values():
        for holder in holders:
            names[holder.distinguished_name] = holder.sam_account_name or holder.distinguished_name
    for principal in directory.principals.values():
        if principal.found and principal.distinguished_name:
            names[principal.distinguished_name] = principal.query
    for computer in directory.computers.values():
        if computer.found and computer.distinguished_name:
            names[computer.distinguished_name] = computer.query
    return names


def _fold(attribute: str, values: list[str]) -> frozenset[str]:
    """Values as the DC compares them: SPNs and DNs case-insensitively."""
    if attribute == "msDS-AllowedToActOnBehalfOfOtherIdentity":
        return frozenset(values)
    return frozenset(v.casefold() for v in values)


def _change(obj: DcObject, attribute: str) -> AttributeChange | None:
    return next((c for c in obj.changes if c.attribute.casefold() == attribute.casefold()), None)


def _newest(readings: list[tuple[DomainController, DcObject]], attribute: str) -> tuple[DomainController, DcObject]:
    """The DC holding the latest originating change of `attribute` (version, then time); the named DC
    (listed first) when the metadata does not tell."""
    def key(i: int) -> tuple[int, float, int]:
        change = _change(readings[i][1], attribute)
        version = (change.version or 0) if change else -1
        when = change.changed_at.timestamp() if change and change.changed_at else 0.0
        return (version, when, -i)
    return readings[max(range(len(readings)), key=key)]


def _when(change: AttributeChange | None, dcs: list[DomainController]) -> str:
    if change is None or change.changed_at is None:
        return ""
    origin = change.originating_dsa
    by = next((dc.host_name for dc in dcs if origin and dc.ntds_settings
               and dc.ntds_settings.casefold() == origin.casefold()), None)
    if by is None and origin:
        parts = origin.split(",")
        by = parts[1].split("=", 1)[-1] if len(parts) > 1 else origin
    when = change.changed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f" (changed at {when}{f' on {by}' if by else ''}, version {change.version}, per the DCs' replication metadata)"


def _shown(attribute: str, values: frozenset[str] | set[str], original: list[str]) -> str:
    if attribute == "userAccountControl":
        bits = 0
        for v in values:
            bits |= int(v, 16)
        return " | ".join(checkkit.uac_flags(bits)) or "none of the delegation flags"
    keep = [o for o in original if (o if attribute == "msDS-AllowedToActOnBehalfOfOtherIdentity" else o.casefold())
            in values]
    return ", ".join(keep)


def _disagreements(subject: str, readings: list[tuple[DomainController, DcObject]], dcs: list[DomainController],
                   sites: dict[str, str]) -> Iterator[str]:
    present = [(dc, obj) for dc, obj in readings if obj.found]
    missing = [dc for dc, obj in readings if not obj.found]
    if present and missing:
        yield (f"{subject} exists on {', '.join(dc.host_name for dc, _ in present)} but not yet on "
               f"{', '.join(_behind(dc, sites) for dc in missing)}")
    if len(present) < 2:
        return
    attributes = list(dict.fromkeys(a for _, obj in present for a in obj.values))
    for attribute in attributes:
        folded = [(dc, obj, _fold(attribute, obj.values.get(attribute, []))) for dc, obj in present]
        if len({f for _, _, f in folded}) < 2:
            continue
        newest_dc, newest = _newest(present, attribute)
        holds = _fold(attribute, newest.values.get(attribute, []))
        original = [v for _, obj in present for v in obj.values.get(attribute, [])]
        when = _when(_change(newest, attribute), dcs)
        for dc, _, theirs in folded:
            if dc is newest_dc or theirs == holds:
                continue
            added, removed = holds - theirs, theirs - holds
            what = WHAT.get(attribute, attribute)
            if attribute == "userAccountControl":
                yield (f"{what} of {subject} is {_shown(attribute, holds, original)} on {newest_dc.host_name}{when}, "
                       f"still {_shown(attribute, theirs, original)} on {_behind(dc, sites)}")
                continue
            if added:
                yield (f"{what} of {subject} holds {_shown(attribute, added, original)} on {newest_dc.host_name}{when}, "
                       f"not yet on {_behind(dc, sites)}")
            if removed:
                yield (f"{what} of {subject} no longer holds {_shown(attribute, removed, original)} on "
                       f"{newest_dc.host_name}{when}, still on {_behind(dc, sites)}")


def _behind(dc: DomainController, sites: dict[str, str]) -> str:
    label = _dc_label(dc)
    hosts = sorted(h for h, s in sites.items() if dc.site and s.casefold() == dc.site.casefold())
    if hosts:
        label += f", the DC of {', '.join(hosts)}"
    if dc.inbound_disabled:
        label += ", whose inbound replication is disabled (NTDSDSA_OPT_DISABLE_INBOUND_REPL): it will not catch up by itself"
    return label


def _sync(domain: str, readings: list[tuple[DomainController, DcObject]], dcs: list[DomainController]) -> Remediation:
    source = next((dc for dc in dcs if dc.named), dcs[0])
    nc = ",".join(f"DC={p}" for p in domain.split("."))
    others = [dc for dc in dcs if dc is not source]
    lines = ["# wait for AD replication, or force it from the DC that was written, then run offlineprep again",
             f"repadmin /syncall {source.host_name} /AdeP"]
    lines += [f"repadmin /replicate {dc.host_name} {source.host_name} {nc}" for dc in others]
    lines += [f"repadmin /options {dc.host_name} -DISABLE_INBOUND_REPL" for dc in others if dc.inbound_disabled]
    return Remediation(summary=f"wait for replication, or `repadmin /syncall {source.host_name} /AdeP` "
                               f"(then {', '.join(dc.host_name for dc in others)} hold the same values)",
                       powershell="\n".join(lines), phase=Phase.REMINDER)
