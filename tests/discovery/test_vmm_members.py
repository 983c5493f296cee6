"""vmm.ps1 and cluster.ps1 read only members Microsoft documents (or well-kept public modules read)
for the objects they hold: tests/fixtures/vmm_members.json lists them with their sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pwsh_members import unknown_members

from offlineprep.winrm.scripts import script

MEMBERS = json.loads((Path(__file__).parents[1] / "fixtures" / "vmm_members.json").read_text())["types"]


@pytest.mark.parametrize("name", ["vmm", "cluster"])
def test_every_member_the_discovery_scripts_read_is_documented(name: str) -> None:
    assert unknown_members(script(name).text, MEMBERS, f"{name}.ps1") == []


@pytest.mark.parametrize(("name", "line", "complaint"), [
    # not VMM's: a host's FQDN property of other tools, the cluster node list of Find-SCCluster's result
    ("vmm", "$x = $vmhost.FQDN", "Host has no member FQDN"),
    ("vmm", "$x = $cluster.ClusterNodes", "HostCluster has no member ClusterNodes"),
    ("vmm", "$x = $account.Password", "RunAsAccount has no member Password"),
    ("vmm", "$x = $cloud.HostGroup.Nodes", "HostGroup has no member Nodes"),
    ("cluster", "$x = $node.NodeState", "ClusterNode has no member NodeState"),
    ("cluster", "$x = $broker.Type", "ClusterResource has no member Type"),
    ("cluster", "$x = $undeclared.Name", "$undeclared has no '# types:' declaration"),
])
def test_a_member_the_object_does_not_have_is_caught(name: str, line: str, complaint: str) -> None:
    problems = unknown_members(script(name).text + "\n" + line + "\n", MEMBERS)
    assert any(complaint in p for p in problems), problems


def test_every_type_cites_where_its_members_come_from() -> None:
    for name, entry in MEMBERS.items():
        assert entry.get("source"), name
        if not entry.get("ours"):
            assert any("learn.microsoft.com" in s or "/" in s for s in entry["source"]), name
