"""The directory collector against the in-process lab directory (no Samba needed): matching,
tokenGroups, RBCD descriptors, search counts that do not grow with hosts, and missing objects."""

from __future__ import annotations

from offlineprep.collect.directory import collect_directory
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.lab.directory import LabDirectory, rbcd_descriptor
from offlineprep.security_descriptor import allowed_sids, decode_descriptor


def test_security_descriptor_parser_reads_the_allowed_sids() -> None:
    sids = ["S-1-5-21-1-2-3-1101", "S-1-5-21-1-2-3-1102"]
    assert allowed_sids(decode_descriptor(rbcd_descriptor(sids))) == sids


def test_a_value_that_is_no_descriptor_or_no_sid_is_read_as_none_and_the_run_goes_on() -> None:
    """A malformed msDS-AllowedToActOnBehalfOfOtherIdentity reads as none set (logged, naming the byte),
    a malformed SID in tokenGroups is left out: neither ends the collection."""
    lab = LabDirectory()
    lab.user("svc-vmm")
    hv = lab.computer("HV01")
    fs = lab.computer("FS01", rbcd=[hv])
    for _dn, attrs in lab._entries:
        if attrs.get("sAMAccountName") == "FS01$":
            attrs["msDS-AllowedToActOnBehalfOfOtherIdentity"] = rbcd_descriptor([hv])[:30]  # truncated
        if attrs.get("sAMAccountName") == "svc-vmm":
            attrs["tokenGroups"] = [*attrs["tokenGroups"], b"\x01\x05\x00"]
    request = DirectoryRequest(computers=["FS01"], principals=["LAB\\svc-vmm"])
    facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
    assert facts.error is None
    assert facts.computers["FS01"].found and facts.computers["FS01"].object_sid == fs
    assert facts.computers["FS01"].rbcd_allowed_sids == [] and facts.computers["FS01"].rbcd_sddl is None
    assert facts.principals["LAB\\svc-vmm"].token_group_sids == [f"{lab.domain_sid}-513"]


def test_collector_matches_short_and_fqdn_names_and_reads_everything() -> None:
    lab = LabDirectory()
    admins = lab.group("HV-Admins")
    lab.user("svc-vmm", groups=[admins])
    hv01 = lab.computer("HV01", uac=0x1000 | 0x1000000, delegate_to=["cifs/fs01.lab.test"])
    lab.computer("FS01", rbcd=[hv01])
    request = DirectoryRequest(computers=["hv01", "FS01.lab.test", "ghost.lab.test"],
                               principals=["LAB\\svc-vmm", "nobody@lab.test"], spn_names=["fs01.lab.test"])
    facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
    assert facts.error is None
    assert facts.computers["hv01"].found and facts.computers["hv01"].object_sid == hv01
    assert facts.computers["hv01"].allowed_to_delegate_to == ["cifs/fs01.lab.test"]
    assert facts.computers["FS01.lab.test"].rbcd_allowed_sids == [hv01]
    assert not facts.computers["ghost.lab.test"].found
    assert admins in facts.principals["LAB\\svc-vmm"].token_group_sids
    assert not facts.principals["nobody@lab.test"].found
    assert [h.sam_account_name for h in facts.spn_holders["fs01.lab.test"]] == ["FS01$"]
    assert facts.sid_names.get(admins) == "LAB\\HV-Admins"


def test_search_count_does_not_grow_per_host() -> None:
    counts = {}
    for n in (10, 300):
        lab = LabDirectory()
        lab.user("svc-vmm")
        names = [f"hv{i:04}" for i in range(n)]
        for name in names:
            lab.computer(name)
        facts = collect_directory(lab.config(), DirectoryRequest(computers=names, principals=["LAB\\svc-vmm"]),
                                  lab.password, connect=lab.connect)
        assert all(c.found for c in facts.computers.values())
        counts[n] = facts.searches
    assert counts[300] - counts[10] == 2  # 3 batches of 100 instead of 1; nothing per host


def _raw_computer(lab: LabDirectory, sam: str, dns: str | None, spns: list[str] | None = None) -> str:
    """A computer as AD stores it when its name is not the lab's usual shape (long, foreign DNS name)."""
    from offlineprep.lab.directory import sid_bytes

    sid = lab.next_sid()
    attrs = {"objectClass": ["top", "person", "organizationalPerson", "user", "computer"], "sAMAccountName": sam,
             "userAccountControl": 0x1000, "objectSid": sid_bytes(sid),
             "servicePrincipalName": spns or [f"HOST/{sam.rstrip('$')}"]}
    if dns:
        attrs["dNSHostName"] = dns
    lab._entries.append((f"CN={sam.rstrip('$')},CN=Computers,{lab.base_dn}", attrs))
    return sid


def test_host_names_longer_than_15_characters_match_their_truncated_netbios_account() -> None:
    """Windows truncates the computer's NetBIOS name (sAMAccountName) to 15 characters."""
    lab = LabDirectory()
    sid = _raw_computer(lab, "HV-PROD-CLUSTER$", "hv-prod-cluster-node01.lab.test")
    request = DirectoryRequest(computers=["hv-prod-cluster-node01", "hv-prod-cluster-node01.lab.test"])
    facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
    assert facts.computers["hv-prod-cluster-node01"].object_sid == sid
    assert facts.computers["hv-prod-cluster-node01.lab.test"].object_sid == sid


def test_a_child_domain_fqdn_is_not_matched_to_a_same_named_computer_of_the_domain_read() -> None:
    lab = LabDirectory()
    lab.computer("HV11")  # hv11.lab.test
    request = DirectoryRequest(computers=["hv11.child.lab.test", "hv11.lab.test", "HV11"])
    facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
    assert not facts.computers["hv11.child.lab.test"].found
    assert facts.computers["hv11.lab.test"].found and facts.computers["HV11"].found


def test_trailing_dot_path_name_finds_its_spn_holder() -> None:
    lab = LabDirectory()
    lab.computer("FS01")
    facts = collect_directory(lab.config(), DirectoryRequest(computers=["fs01.lab.test."],
                                                             spn_names=["fs01.lab.test."]),
                              lab.password, connect=lab.connect)
    assert facts.computers["fs01.lab.test."].found
    assert [h.sam_account_name for h in facts.spn_holders["fs01.lab.test."]] == ["FS01$"]


def test_upn_names_the_account_even_when_another_account_has_that_samaccountname() -> None:
    from offlineprep.lab.directory import sid_bytes

    lab = LabDirectory()
    other = lab.next_sid()  # a different person whose sAMAccountName is the UPN prefix
    lab._entries.append((f"CN=John Smith,CN=Users,{lab.base_dn}", {
        "objectClass": ["top", "person", "organizationalPerson", "user"], "sAMAccountName": "john.smith",
        "userPrincipalName": "jsmith@corp.example", "userAccountControl": 0x200, "objectSid": sid_bytes(other)}))
    sid = lab.next_sid()
    lab._entries.append((f"CN=svc-vmm,CN=Users,{lab.base_dn}", {
        "objectClass": ["top", "person", "organizationalPerson", "user"], "sAMAccountName": "svc-vmm",
        "userPrincipalName": "john.smith@lab.test", "userAccountControl": 0x200, "objectSid": sid_bytes(sid),
        "tokenGroups": [sid_bytes(f"{lab.domain_sid}-513")]}))
    facts = collect_directory(lab.config(), DirectoryRequest(principals=["john.smith@lab.test"]),
                              lab.password, connect=lab.connect)
    assert facts.principals["john.smith@lab.test"].object_sid == sid


def _two_svc_accounts(lab: LabDirectory) -> str:
    """svc-vmm of the lab domain; also its UPN under an alternative suffix (not a domain name)."""
    sid = lab.user("svc-vmm")
    lab._entries[-1][1]["userPrincipalName"] = "svc-vmm@corp.example"
    return sid


def test_an_account_of_another_domain_is_not_judged_by_a_same_named_account_of_the_domain_read() -> None:
    lab = LabDirectory()
    lab.crossref("FABRIKAM", "fabrikam.example")  # another domain of the forest: its crossRef is not ours
    sid = _two_svc_accounts(lab)
    names = ["FABRIKAM\\svc-vmm", "fabrikam.example\\svc-vmm", "LAB\\svc-vmm", "lab\\svc-vmm", "lab.test\\svc-vmm",
             "svc-vmm", "svc-vmm@corp.example"]
    facts = collect_directory(lab.config(), DirectoryRequest(principals=names), lab.password, connect=lab.connect)
    assert facts.error is None and facts.netbios_name == "LAB"
    for foreign in ("FABRIKAM\\svc-vmm", "fabrikam.example\\svc-vmm"):
        principal = facts.principals[foreign]
        assert not principal.found and principal.object_sid is None and principal.token_group_sids == []
        assert principal.other_domain == foreign.split("\\")[0]
    for own in names[2:]:  # NetBIOS name, DNS name or its first label, a plain name, any UPN suffix
        assert facts.principals[own].object_sid == sid and facts.principals[own].other_domain is None, own


def test_the_netbios_name_comes_from_the_crossref_not_from_the_dns_name() -> None:
    lab = LabDirectory(netbios_name="LABNET")  # the NetBIOS name need not be the first DNS label
    lab.crossref("FABRIKAM", "fabrikam.lab.test")  # a child domain
    admins = lab.group("HV-Admins")
    sid = lab.user("svc-vmm", groups=[admins])
    request = DirectoryRequest(principals=["LABNET\\svc-vmm", "FABRIKAM\\svc-vmm"])
    facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
    assert facts.netbios_name == "LABNET"
    assert facts.principals["LABNET\\svc-vmm"].object_sid == sid
    assert facts.principals["FABRIKAM\\svc-vmm"].other_domain == "FABRIKAM"
    assert facts.sid_names.get(admins) == "LABNET\\HV-Admins"


def test_without_the_netbios_name_a_domain_prefix_is_looked_up_as_before() -> None:
    lab = LabDirectory(has_crossref=False)
    sid = lab.user("svc-vmm")
    facts = collect_directory(lab.config(), DirectoryRequest(principals=["FABRIKAM\\svc-vmm"]), lab.password,
                              connect=lab.connect)
    assert facts.error is None and facts.netbios_name is None
    assert facts.principals["FABRIKAM\\svc-vmm"].object_sid == sid  # unknown domain name: no regression


def test_reading_the_netbios_name_costs_two_searches_however_many_accounts() -> None:
    counts = {}
    for accounts in (1, 6):
        lab = LabDirectory()
        lab.computer("HV01")
        names = [f"svc{i}" for i in range(accounts)]
        for name in names:
            lab.user(name)
        request = DirectoryRequest(computers=["hv01"], principals=[f"FABRIKAM\\{n}" for n in names],
                                   spn_names=["fs01.lab.test"])
        facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
        assert all(p.other_domain == "FABRIKAM" for p in facts.principals.values())
        counts[accounts] = facts.searches
    # rootDSE, crossRef, one search for computers, principals and SPN holders; no tokenGroups read
    assert counts == {1: 3, 6: 3}


def test_an_object_found_by_two_batched_searches_is_one_spn_holder() -> None:
    """Principals and SPN holders ride along in the last computer search: FS01 answers both its own
    computer batch and the SPN terms, and must not count as two holders (ad.delegation-target)."""
    lab = LabDirectory()
    lab.computer("HV01")
    lab.computer("FS01")
    sid = lab.user("svc-vmm")
    config = lab.config().model_copy(update={"batch_size": 1})
    request = DirectoryRequest(computers=["FS01.lab.test", "hv01"], principals=["LAB\\svc-vmm"],
                               spn_names=["fs01.lab.test"])
    facts = collect_directory(config, request, lab.password, connect=lab.connect)
    assert facts.computers["FS01.lab.test"].found and facts.computers["hv01"].found
    assert [h.sam_account_name for h in facts.spn_holders["fs01.lab.test"]] == ["FS01$"]
    assert facts.principals["LAB\\svc-vmm"].object_sid == sid


def test_token_groups_read_says_whether_the_dc_returned_tokengroups() -> None:
    """An account whose tokenGroups the DC does not return (no Global Catalog reachable, or the bind
    account may not read it) was indistinguishable from one in no group: token_group_sids was []."""
    lab = LabDirectory()
    admins = lab.group("HV-Admins")
    lab.user("svc-vmm", groups=[admins])
    lab.user("svc-hidden", token_groups=False)
    facts = collect_directory(lab.config(), DirectoryRequest(principals=["LAB\\svc-vmm", "LAB\\svc-hidden"]),
                              lab.password, connect=lab.connect)
    assert facts.error is None
    read, hidden = facts.principals["LAB\\svc-vmm"], facts.principals["LAB\\svc-hidden"]
    assert read.token_groups_read is True and admins in read.token_group_sids
    assert hidden.found and hidden.token_groups_read is False and hidden.token_group_sids == []


def test_the_dcs_clock_is_read_in_the_root_dse_search_with_this_machines_clock_beside_it() -> None:
    from datetime import UTC, datetime

    d = LabDirectory(clock_offset_seconds=-420)  # the DC runs 7 minutes behind this machine
    d.user("svc-vmm")
    before = datetime.now(UTC)
    facts = collect_directory(d.config(), DirectoryRequest(principals=["LAB\\svc-vmm"]), d.password, connect=d.connect)
    after = datetime.now(UTC)
    assert facts.error is None and facts.current_time is not None and facts.current_time_observed_at is not None
    assert before <= facts.current_time_observed_at <= after
    offset = (facts.current_time - facts.current_time_observed_at).total_seconds()
    assert -422 <= offset <= -418  # currentTime has whole seconds
    assert facts.searches == 5  # rootDSE, crossRef, accounts, tokenGroups, group names: none for the clock


def test_current_time_as_ldap3_returns_it() -> None:
    from datetime import UTC, datetime

    from offlineprep.collect.directory import generalized_time

    assert generalized_time("20261124093000.0Z") == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert generalized_time(datetime(2026, 11, 24, 9, 30)) == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert generalized_time(None) is None and generalized_time("not a time") is None


def test_a_computers_groups_are_read_when_a_descriptor_of_its_domain_names_a_group() -> None:
    """FS01 allows HV-Admins (nested in Tier1): each host's groups are read level by level, its
    primary group (Domain Computers, from primaryGroupID) included; a host in no group has only that."""
    lab = LabDirectory()
    tier1 = lab.group("Tier1")
    admins = lab.group("HV-Admins", member_of=["Tier1"])
    lab.computer("HV01", groups=["HV-Admins"])
    lab.computer("HV02")
    lab.computer("FS01", rbcd=[admins])
    request = DirectoryRequest(computers=["hv01", "hv02", "fs01"])
    facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
    assert facts.error is None and facts.groups_read
    domain_computers = f"{lab.domain_sid}-515"
    assert facts.computers["hv01"].group_sids == [*sorted([admins, tier1]), domain_computers]
    assert facts.computers["hv02"].group_sids == [domain_computers]
    # rootDSE, NetBIOS name, the computers, then two levels of groups (HV-Admins, then Tier1)
    assert facts.searches == 5


def test_groups_are_not_read_when_every_descriptor_names_computers_only() -> None:
    lab = LabDirectory()
    lab.group("HV-Admins")
    hv01 = lab.computer("HV01", groups=["HV-Admins"])
    lab.computer("FS01", rbcd=[hv01])
    facts = collect_directory(lab.config(), DirectoryRequest(computers=["hv01", "fs01"]), lab.password,
                              connect=lab.connect)
    assert not facts.groups_read and facts.computers["hv01"].group_sids is None
    assert facts.searches == 3
    # a descriptor read in another domain that names a group of this one
    named = collect_directory(lab.config(), DirectoryRequest(computers=["hv01"], named_sids=[f"{lab.domain_sid}-4242"]),
                              lab.password, connect=lab.connect)
    assert named.groups_read and named.computers["hv01"].group_sids is not None
    # ... or only SIDs of another domain: nothing to read here
    other = collect_directory(lab.config(), DirectoryRequest(computers=["hv01"], named_sids=["S-1-5-21-9-9-9-1000"]),
                              lab.password, connect=lab.connect)
    assert not other.groups_read


def test_the_domain_functional_level_rides_along_in_the_rootdse_search() -> None:
    """rootDSE domainFunctionality (the domain NC's msDS-Behavior-Version) costs no search of its own;
    a DC that does not give it leaves the level unread, never a guess."""
    lab = LabDirectory(functional_level=5)
    lab.user("svc-vmm")
    request = DirectoryRequest(principals=["LAB\\svc-vmm"])
    facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
    assert facts.domain_functionality == 5 and facts.error is None
    searches = facts.searches
    unread = LabDirectory(functional_level=None)
    unread.user("svc-vmm")
    facts = collect_directory(unread.config(), request, unread.password, connect=unread.connect)
    assert facts.domain_functionality is None and facts.searches == searches


def test_a_hosts_computer_account_is_read_as_a_principal_with_its_token_groups() -> None:
    """Under hyperv-replica the routes ask for DOMAIN\\HOST$ as a principal (path.host-accounts): it is the
    computer object, with tokenGroups holding Domain Computers and its groups, nested ones included."""
    lab = LabDirectory()
    outer = lab.group("Replica-Hosts")
    inner = lab.group("HV-Hosts", member_of=["Replica-Hosts"])
    sid = lab.computer("hv01", groups=["HV-Hosts"])
    request = DirectoryRequest(computers=["hv01.lab.test"], principals=["lab.test\\HV01$"])
    facts = collect_directory(lab.config(), request, lab.password, connect=lab.connect)
    principal = facts.principals["lab.test\\HV01$"]
    assert principal.found and principal.object_sid == sid == facts.computers["hv01.lab.test"].object_sid
    assert principal.token_groups_read and set(principal.token_group_sids) == {f"{lab.domain_sid}-515", inner, outer}
