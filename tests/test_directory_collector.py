"""The directory collector against the in-process lab directory (no Samba needed): matching,
tokenGroups, RBCD descriptors, search counts that do not grow with hosts, and missing objects."""

from __future__ import annotations

from offlineprep.collect.directory import allowed_sids_from_security_descriptor, collect_directory
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.lab.directory import LabDirectory, rbcd_descriptor


def test_security_descriptor_parser_reads_the_allowed_sids() -> None:
    sids = ["S-1-5-21-1-2-3-1101", "S-1-5-21-1-2-3-1102"]
    assert allowed_sids_from_security_descriptor(rbcd_descriptor(sids)) == sids
    assert allowed_sids_from_security_descriptor(b"\x01\x00") == []  # truncated: nothing, no crash


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
