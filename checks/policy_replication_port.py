"""policy.replication-port: each target host's firewall lets the replication listener in.

The port is the one the policy will use: `[policy] port` when given, else the host's own listener
(Get-VMReplicationServer KerberosAuthenticationPort / CertificateAuthenticationPort; KerbAuthPort and
CertAuthPort are only parameter aliases and table headings), else the walkthrough's 8083 (Kerberos) /
8084 (certificate). A host whose Replica server is not enabled still reports Hyper-V's defaults
(80 / 443), but nothing listens there yet and ASR configures the listener with its own port when it
protects the cloud, so such a host's ports are not taken as its listener.

The firewall is judged as Windows applies it, per profile (Windows Firewall with Advanced Security):
- Each connected network selects a profile by its category (Get-NetConnectionProfile NetworkCategory
  DomainAuthenticated, Private, Public -> the Domain, Private, Public profile); a host with several
  networks has several active profiles, and the listener must be reachable through each (which
  network the source hosts come through is not known). With no network category read, every profile
  counts.
- A profile whose firewall is off (Get-NetFirewallProfile Enabled False) lets the port in; one whose
  AllowInboundRules is False ("block all incoming connections") lets no allow rule apply; a default
  inbound action Allow lets the port in without a rule. NotConfigured means Windows' default: on,
  inbound Block, allow rules apply (INetFwPolicy2 DefaultInboundAction: "Block by default").
- A rule applies to a profile when its Profile is Any or names that profile: a rule only for Public
  does not cover a host whose network is Domain.
- An enabled inbound rule covers the port when its protocol is TCP or Any and a local port entry is
  the port, a range holding it, or Any (also a comma list). Keywords (RPC, RPCEPMap, Teredo,
  IPHTTPSIn, IPHTTPSOut, PlayToDiscovery) are dynamic ports that are not the listener's. Action
  Allow allows; Block blocks and wins over every allow rule; NotConfigured does neither.
- A rule's RemoteAddress scope: Any covers every source host; addresses, subnets (a/24,
  a/255.255.255.0) and ranges (a-b) cover the source hosts that have an address inside (their
  addresses as collected, link-local ones left out) and the finding names those outside; keywords
  (LocalSubnet, Intranet, DNS, DHCP, WINS, DefaultGateway, Internet, IntranetRemoteAccess,
  PlayToDevice) depend on the host's own network configuration and are not evaluated: a warning
  names the keyword rather than a pass. A block rule whose scope cannot be evaluated counts as blocking.
- A rule limited to a program or a service (Get-NetFirewallApplicationFilter Program,
  Get-NetFirewallServiceFilter Service) matches only that program's or service's traffic. The Replica
  listener runs in System (the built-in "Hyper-V Replica HTTP/HTTPS Listener" rules name the program
  System), so only a rule for Any program or System, and for Any service, covers it, allow or block.
- Where a rule is defined (Get-NetFirewallRule PolicyStoreSourceType, MS-FASP FW_RULE_ORIGIN_TYPE):
  GroupPolicy rules live in a GPO (PolicyStoreSource names it) and only that GPO changes them; a
  local cmdlet acts on the PersistentStore, where they are not. A profile whose
  AllowLocalFirewallRules is False (Group Policy's "Apply local firewall rules: No", MS-GPFAS
  AllowLocalPolicyMerge 0) ignores every rule of the local store: only Group Policy rules count there.
Not judged (documented limits): a rule limited to an interface type, or allowing only authenticated
IPsec connections ("allow if secure").

A missing allow rule is a warning, because ASR normally opens the port itself when it configures the
cloud. The fix names the profiles that lack coverage and, where the existing rules are scoped to
remote addresses, keeps that practice by allowing the source hosts' addresses only; every rule it
adds or disables is in the local store (-PolicyStore PersistentStore). A block rule that Group Policy
defines, or a profile that ignores local rules, cannot be fixed with a local rule: the fix is a step
by hand that names the GPO (or the policy setting) to change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field

from offlineprep import checkkit
from offlineprep.actions import ActionBase
from offlineprep.actions.types import hyperv_host
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import FirewallProfile, FirewallRule, HostFacts
from offlineprep.model import Outcome, Remediation, Status
from offlineprep.remediation import disable_firewall_rules, manual, open_firewall_port, remediation

DEFAULT_PORTS = {"kerberos": 8083, "certificate": 8084}
PROFILES = ("Domain", "Private", "Public")
TCP = {"TCP", "ANY", "6"}


def covers(spec: str, port: int) -> bool:
    """"Any", "8084", "8080-8090", or a comma list of those ("80, 443, 8080-8090")."""
    if "," in spec:
        return any(covers(part, port) for part in spec.split(","))
    spec = spec.strip()
    if spec.lower() == "any":
        return True
    if "-" in spec:
        low, _, high = spec.partition("-")
        return low.strip().isdigit() and high.strip().isdigit() and int(low) <= port <= int(high)
    return spec.isdigit() and int(spec) == port


def reaches_listener(rule: FirewallRule) -> bool:
    """A rule for Any program (or System, where the Replica listener runs) and Any service: a rule
    limited to another program or to a service matches none of the listener's traffic. None: not read
    (a facts file of an older version), taken as Any as before."""
    program = (rule.program or "Any").strip().casefold()
    service = (rule.service or "Any").strip().casefold()
    return program in {"any", "system", ""} and service in {"any", ""}


def covers_port(rule: FirewallRule, port: int) -> bool:
    return (rule.enabled and rule.direction == "inbound" and rule.protocol.upper() in TCP
            and (not rule.local_ports or any(covers(p, port) for p in rule.local_ports)) and reaches_listener(rule))


def limited_rules(rules: list[FirewallRule], port: int) -> list[FirewallRule]:
    """Allow rules for the port that are limited to a program or a service (and so do not cover it)."""
    return [r for r in rules if r.action == "allow" and not reaches_listener(r)
            and r.enabled and r.direction == "inbound" and r.protocol.upper() in TCP
            and (not r.local_ports or any(covers(p, port) for p in r.local_ports))]


def from_policy(rule: FirewallRule) -> bool:
    return (rule.source_type or "").casefold() == "grouppolicy"


def is_local(rule: FirewallRule) -> bool:
    # None: not read (an older facts file): the rule counts as before
    return (rule.source_type or "").casefold() == "local"


def in_force(rule: FirewallRule, state: FirewallProfile | None) -> bool:
    """Whether the rule applies under the profile's policy: local rules are ignored where Group Policy
    says AllowLocalFirewallRules False."""
    return not (state is not None and state.allow_local_firewall_rules is False and is_local(rule))


def applies_to(rule: FirewallRule, profile: str) -> bool:
    names = {p.strip().casefold() for p in rule.profiles}
    return "any" in names or profile.casefold() in names


def allowing_rules(rules: list[FirewallRule], port: int) -> list[FirewallRule]:
    return [r for r in rules if r.action == "allow" and covers_port(r, port)]


def blocking_rules(rules: list[FirewallRule], port: int) -> list[FirewallRule]:
    return [r for r in rules if r.action == "block" and covers_port(r, port)]


# --------------------------------------------------------------------------- remote address scope


@dataclass(frozen=True)
class Scope:
    everyone: bool  # Any
    keywords: tuple[str, ...]  # LocalSubnet, Intranet, ...: not evaluated
    outside: tuple[str, ...]  # source hosts with no address inside the explicit entries
    explicit: tuple[str, ...] = ()  # addresses, subnets, ranges


def _inside(address: str, entry: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
        if "-" in entry:
            low, _, high = entry.partition("-")
            first, last = ipaddress.ip_address(low.strip()), ipaddress.ip_address(high.strip())
            return ip.version == first.version and first <= ip <= last  # type: ignore[operator]
        return ip in ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return False


def _is_keyword(entry: str) -> bool:
    return entry.strip()[:1].isalpha() and ":" not in entry and not _looks_like_address(entry)


def _looks_like_address(entry: str) -> bool:
    head = entry.strip().split("/", 1)[0].split("-", 1)[0]
    try:
        ipaddress.ip_address(head)
    except ValueError:
        return False
    return True


def scope_of(rule: FirewallRule, sources: dict[str, set[str]]) -> Scope:
    entries = [e.strip() for e in rule.remote_addresses if e.strip()] or ["Any"]
    if any(e.casefold() == "any" for e in entries):
        return Scope(everyone=True, keywords=(), outside=())
    keywords = tuple(e for e in entries if _is_keyword(e))
    explicit = [e for e in entries if e not in keywords]
    outside = tuple(host for host, addresses in sources.items()
                    if not any(_inside(a, e) for a in addresses for e in explicit)) if explicit else ()
    return Scope(everyone=False, keywords=keywords, outside=outside, explicit=tuple(explicit))


# --------------------------------------------------------------------------- per profile


@dataclass
class ProfileVerdict:
    profile: str
    covered: bool
    reason: str
    allow: list[str] = field(default_factory=list)
    block: list[str] = field(default_factory=list)
    uncertain: bool = False  # covered only if a keyword scope holds the source hosts
    local_ignored: bool = False  # Group Policy ignores local rules here (AllowLocalFirewallRules False)


def judge_profile(profile: str, state: FirewallProfile | None, rules: list[FirewallRule], port: int,
                  sources: dict[str, set[str]]) -> ProfileVerdict:
    enabled = state.enabled if state is not None and state.enabled is not None else True
    if not enabled:
        return ProfileVerdict(profile, True, f"the firewall is off for the {profile} profile")
    verdict = _judge_rules(profile, state, [r for r in rules if in_force(r, state)], port, sources)
    local_ignored = state is not None and state.allow_local_firewall_rules is False
    if local_ignored:
        verdict.local_ignored = True
        ignored = sorted({r.name for r in rules if not in_force(r, state) and r.action == "allow" and covers_port(r, port)})
        if not verdict.covered and ignored:
            verdict.reason += (f" (Group Policy ignores the local rules for the {profile} profile, "
                               f"AllowLocalFirewallRules False: {', '.join(ignored)} do not apply)")
    if not verdict.covered:
        limited = sorted({r.name for r in limited_rules(rules, port) if applies_to(r, profile) and in_force(r, state)})
        if limited:
            verdict.reason += (f" ({', '.join(limited)} allow only a program or a service, and the Replica listener "
                               "runs in System)")
    return verdict


def _judge_rules(profile: str, state: FirewallProfile | None, rules: list[FirewallRule], port: int,
                 sources: dict[str, set[str]]) -> ProfileVerdict:
    blocks = []
    for rule in blocking_rules(rules, port):
        if not applies_to(rule, profile):
            continue
        scope = scope_of(rule, sources)
        if scope.everyone or scope.keywords or len(scope.outside) < len(sources) or not sources:
            blocks.append(rule.name)
    if blocks:
        return ProfileVerdict(profile, False, f"the block rule {blocks[0]} covers it (a block rule wins over every "
                              "allow rule)", block=blocks)
    if state is not None and state.allow_inbound_rules is False:
        return ProfileVerdict(profile, False, f"the {profile} profile blocks all incoming connections "
                              "(AllowInboundRules False): no allow rule applies")
    allows = [r for r in allowing_rules(rules, port) if applies_to(r, profile)]
    partial: list[str] = []
    for rule in allows:
        scope = scope_of(rule, sources)
        if scope.everyone or (scope.explicit and sources and not scope.outside):
            return ProfileVerdict(profile, True, f"allowed by {rule.name}" + (
                "" if scope.everyone else f" from {', '.join(rule.remote_addresses)}, which holds every source host"),
                allow=[rule.name])
        if scope.keywords:
            return ProfileVerdict(profile, True, f"allowed by {rule.name} only from {', '.join(rule.remote_addresses)} "
                                  "(a scope that depends on the host's network: make sure the source hosts are in it)",
                                  allow=[rule.name], uncertain=True)
        if not sources:
            partial.append(f"{rule.name} allows only {', '.join(rule.remote_addresses)} and the source hosts' "
                           "addresses are unknown")
        else:
            partial.append(f"{rule.name} allows only {', '.join(rule.remote_addresses)}, which leaves out "
                           + ", ".join(f"{h} ({', '.join(sorted(sources[h])) or 'no address known'})"
                                       for h in scope.outside))
    default = state.default_inbound_action if state is not None else None
    if default == "allow":
        return ProfileVerdict(profile, True, f"the {profile} profile allows inbound connections by default")
    if partial:
        return ProfileVerdict(profile, False, "; ".join(partial), allow=[r.name for r in allows])
    return ProfileVerdict(profile, False, f"no enabled inbound allow rule for the {profile} profile covers it")


def active_profiles(facts: HostFacts) -> tuple[list[str], bool]:
    """The profiles of the host's connected networks, and whether they are known."""
    found = [n.category for n in facts.network_profiles or [] if n.category in PROFILES]
    if not found:
        return list(PROFILES), False
    return [p for p in PROFILES if p in found], True


def source_addresses(ctx: CheckContext) -> dict[str, set[str]]:
    """Each source host's own addresses (the primary servers connect to the replica's listener)."""
    out = {}
    for host in ctx.inventory.source_hosts:
        facts = ctx.facts.find_host(host)
        out[host] = facts.routable_addresses() if facts is not None and facts.reachable else set()
    return out


def listener_port(auth: str, configured: int | None, host: HostFacts) -> tuple[int, str]:
    if configured:
        return configured, "[policy] port"
    server = host.replication_server
    if server is not None and server.enabled is not False:
        own = server.kerberos_port if auth == "kerberos" else server.certificate_port
        if own:
            return own, "the host's replication server setting"
    return DEFAULT_PORTS[auth], "the walkthrough's default"


@check(
    "policy.replication-port",
    title="Target hosts' firewalls allow the replication listener port",
    severity="medium",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Configure replication settings, step 4: authentication type and port",
    why=(
        "Replication traffic arrives at the target hosts on the replication listener port (by default "
        "8083 for Kerberos, 8084 for certificates in Site Recovery). An enabled inbound Windows Firewall "
        "rule must let it in; Site Recovery usually opens it when it configures the cloud, so a missing "
        "rule is a warning, but a blocking rule stops replication."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Get-VMReplicationServer":
            "https://learn.microsoft.com/powershell/module/hyper-v/get-vmreplicationserver",
        "New-NetFirewallRule":
            "https://learn.microsoft.com/powershell/module/netsecurity/new-netfirewallrule",
        "FW_RULE_ORIGIN_TYPE (PolicyStoreSourceType: Local, GroupPolicy)":
            "https://learn.microsoft.com/openspecs/windows_protocols/ms-fasp/9d295321-d75c-41c0-ab0d-7a78df40f77c",
        "Allow Local Firewall Rule Policy Merge (AllowLocalFirewallRules)":
            "https://learn.microsoft.com/openspecs/windows_protocols/ms-gpfas/2c979624-900a-4b6e-b4ef-09b387cd62ab",
        "Get-NetFirewallApplicationFilter (a rule's program)":
            "https://learn.microsoft.com/powershell/module/netsecurity/get-netfirewallapplicationfilter",
    },
)
def replication_port(ctx: CheckContext) -> Iterator[Outcome]:
    policy = ctx.site.policy
    sources = source_addresses(ctx) if policy is not None else {}
    for host in ctx.inventory.target_hosts:
        if policy is None:
            yield checkkit.skip(host, "no [policy] table: the authentication type (and so the port) is unknown")
            continue
        facts, problem = checkkit.host(ctx, host, host)
        if facts is None:
            assert problem is not None
            yield problem
            continue
        port, source = listener_port(policy.authentication, policy.port, facts)
        if facts.firewall_rules is None:
            yield checkkit.error(host, f"{host} returned no firewall rules{facts.why_missing('firewall_rules')}")
            continue
        yield judge_host(host, facts, port, source, policy.authentication, sources)


def judge_host(host: str, facts: HostFacts, port: int, source: str, authentication: str,
               sources: dict[str, set[str]]) -> Outcome:
    rules = facts.firewall_rules or []
    profiles, known = active_profiles(facts)
    states = {p.name: p for p in facts.firewall_profiles or []}
    verdicts = [judge_profile(p, states.get(p), rules, port, sources) for p in profiles]
    networks = {n.category: n.interface for n in facts.network_profiles or [] if n.category}
    evidence: dict[str, object] = {
        "port": port, "port_source": source, "authentication": authentication,
        "active_profiles": profiles if known else "unknown: every profile judged",
        "profiles": {v.profile: {"covered": v.covered, "why": v.reason} for v in verdicts},
        "allowing_rules": sorted({n for v in verdicts for n in v.allow}),
        "blocking_rules": sorted({n for v in verdicts for n in v.block}),
        "source_addresses": {h: sorted(a) for h, a in sources.items()},
    }
    unread = [s for s in ("firewall_rules", "firewall_profiles", "network_profiles") if s in facts.section_errors]

    def where(v: ProfileVerdict) -> str:
        network = networks.get(v.profile)
        return f"{v.profile} profile" + (f" (network {network})" if network else "")

    summary = "; ".join(f"{where(v)}: {v.reason}" for v in verdicts)
    if all(v.covered for v in verdicts) and not any(v.uncertain for v in verdicts) and not unread:
        return Outcome(status=Status.PASS, subject=host, evidence=evidence,
                       message=f"inbound TCP {port} ({source}) reaches the listener: {summary}")
    notes = []
    if unread:
        notes.append("not everything was read: " + "; ".join(f"{s}: {facts.section_errors[s]}" for s in unread))
    if not known:
        notes.append("the host's network category was not read, so every profile was judged")
    message = f"replication listener port TCP {port} ({source}) on {host}: {summary}"
    if notes:
        message += " (" + "; ".join(notes) + ")"
    lacking = [v for v in verdicts if not v.covered]
    block_names = sorted({n for v in lacking for n in v.block})
    scoped = any(not scope_of(r, sources).everyone for r in allowing_rules(rules, port))
    remote = sorted({a for addresses in sources.values() for a in addresses}) if scoped else []
    by_name = {r.name: r for r in rules}
    policy_blocks = [n for n in block_names if n in by_name and from_policy(by_name[n])]
    local_blocks = [n for n in block_names if n not in policy_blocks]
    fix = None
    if lacking:
        # what a local rule can fix: profiles that apply local rules and that no Group Policy block rule covers
        local_profiles = [v.profile for v in lacking if not v.local_ignored and not set(v.block) & set(policy_blocks)]
        before = sorted({r.name for r in allowing_rules(rules, port)})
        by_hand = policy_steps(host, port, [by_name[n] for n in policy_blocks],
                               [v.profile for v in lacking if v.local_ignored], rules)
        local = None
        if local_profiles:
            profile_arg = "Any" if set(local_profiles) == set(PROFILES) else ",".join(local_profiles)
            allowed = [r for r in allowing_rules(rules, port) if any(applies_to(r, p) for p in local_profiles)]
            blocks_here = [n for n in local_blocks if any(applies_to(by_name[n], p) for p in local_profiles)]
            local = (unblock(host, port, blocks_here, profile_arg, remote, before, add_allow=not allowed)
                     if blocks_here else allow_rule(host, port, profile_arg, remote, before))
        if by_hand:
            actions = [*by_hand, *(local.actions if local is not None else [])]
            fix = remediation(f"Let inbound TCP {port} reach the Replica listener on {host}: change the Group Policy "
                              "that blocks it" + (", and the local rules" if local is not None else ""), actions)
        else:
            fix = local
    return Outcome(status=Status.WARN, subject=host, evidence=evidence, message=message, remediation=fix)


def allow_rule(host: str, port: int, profile: str, remote: list[str], before: list[str]) -> Remediation:
    """An allow rule for the listener port, for the profiles that lack one; limited to the source
    hosts' addresses when the host's existing rules are scoped. `before`: the enabled inbound allow
    rules covering the port as read (for another profile, or a scope that leaves source hosts out)."""
    return remediation(f"Allow inbound TCP {port} for Hyper-V Replica on {host} ({profile} profile)",
                       [open_firewall_port(host, port, profile=profile, remote_address=remote or ["Any"],
                                           before=before)])


def unblock(host: str, port: int, block_names: list[str], profile: str, remote: list[str], before: list[str],
            add_allow: bool) -> Remediation:
    """A block rule wins over every allow rule, so adding one more allow rule would change nothing:
    disable the blocking rules (and add the allow rule, with the same profile and scope, when none
    covers the port)."""
    actions: list[ActionBase] = [disable_firewall_rules(host, port, block_names)]
    if add_allow:
        actions.append(open_firewall_port(host, port, profile=profile, remote_address=remote or ["Any"],
                                          before=before))
    return remediation(f"Stop blocking inbound TCP {port} on {host} (block rules: {', '.join(block_names)})", actions)


def policy_steps(host: str, port: int, policy_blocks: list[FirewallRule], ignoring: list[str],
                 rules: list[FirewallRule]) -> list[ActionBase]:
    """Steps by hand for what only Group Policy can change: a block rule a GPO defines (a local
    Disable-NetFirewallRule acts on the PersistentStore, where that rule is not), and a profile whose
    policy ignores local rules (a local allow rule would not apply there)."""
    owner = hyperv_host(host)
    steps: list[ActionBase] = []
    for rule in policy_blocks:
        gpo = rule.policy_store_source or "a Group Policy object (PolicyStoreSource not read)"
        steps.append(manual(f"The Group Policy object '{gpo}' defines the inbound block rule {rule.name} that covers TCP "
                            f"{port} on {host}: remove or narrow it in that GPO (Group Policy Management, Computer "
                            "Configuration > Policies > Windows Settings > Security Settings > Windows Defender Firewall "
                            "with Advanced Security > Inbound Rules), then run gpupdate on the host; a local rule or "
                            "Disable-NetFirewallRule cannot change it", owner))
    if ignoring:
        gpos = sorted({r.policy_store_source for r in rules if from_policy(r) and r.policy_store_source})
        where = (f" (the GPOs that give {host} its firewall rules: {', '.join(gpos)})" if gpos else "")
        steps.append(manual(f"Group Policy sets 'Apply local firewall rules: No' (AllowLocalFirewallRules False) for the "
                            f"{', '.join(ignoring)} profile on {host}, so a local rule is ignored there: add an inbound "
                            f"allow rule for TCP {port} (program Any or System) to the GPO that applies to {host}{where}, "
                            "or let that GPO apply local rules, then run gpupdate on the host", owner))
    return steps
