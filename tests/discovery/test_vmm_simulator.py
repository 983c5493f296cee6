"""The simulators build their objects from the members the scripts may read, nothing else."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from offlineprep.lab import cluster as sim_cluster
from offlineprep.lab import vmm as sim_vmm

MEMBERS = json.loads((Path(__file__).parents[1] / "fixtures" / "vmm_members.json").read_text())["types"]


@pytest.mark.parametrize(("cls", "type_name"), [
    (sim_vmm.Host, "Host"), (sim_vmm.HostCluster, "HostCluster"), (sim_vmm.HostGroup, "HostGroup"),
    (sim_vmm.Cloud, "Cloud"), (sim_vmm.RunAsAccount, "RunAsAccount"), (sim_cluster.ClusterNode, "ClusterNode"),
    (sim_cluster.ClusterResource, "ClusterResource"), (sim_cluster.SimulatedCluster, "Cluster"),
])
def test_each_windows_member_the_simulator_models_is_documented(cls: type, type_name: str) -> None:
    # attributes written as Windows names them (Capitalised) are members; lower-case ones are the simulator's own wiring
    modelled = {f.name for f in dataclasses.fields(cls) if f.name[:1].isupper()}
    assert modelled <= set(MEMBERS[type_name]["members"]), modelled - set(MEMBERS[type_name]["members"])
