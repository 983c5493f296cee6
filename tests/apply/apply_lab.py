"""The lab for the plan / apply / revert tests: the demo's directory (ldap3's mock, one DIT for the lab's life) and
its simulated Windows hosts behind the loopback WS-Management endpoint, reached by real pywinrm.

The simulated hosts print security descriptors as Windows does once offlineprep's model has changed
one (full SIDs, hexadecimal masks): every descriptor starts in that form here, so "identical to
before" is a comparison of strings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offlineprep import pipeline
from offlineprep.acl import format_sddl, parse_sddl
from offlineprep.apply import runner
from offlineprep.apply.model import Plan, Record
from offlineprep.apply.planner import make_plan
from offlineprep.apply.replan import Replanned, replan
from offlineprep.demo import DemoLab, start_demo
from offlineprep.engine import CheckSpec, discover, needs_of
from offlineprep.lab.windows import SimulatedHost
from offlineprep.model import Results


def canonical(sddl: str) -> str:
    return format_sddl(parse_sddl(sddl))


@dataclass
class Lab:
    demo: DemoLab
    checks: list[CheckSpec]
    record_dir: Path

    @property
    def site(self) -> Any:
        return self.demo.site

    @property
    def sims(self) -> dict[str, SimulatedHost]:
        return self.demo.endpoint.hosts

    def sim(self, name: str) -> SimulatedHost:
        return self.sims[name.casefold()]

    def password(self, env: str, purpose: str) -> str:
        return os.environ[env]

    def connections(self) -> runner.Connections:
        return self.demo.connections()

    def results(self) -> Results:
        facts = pipeline.collect(self.site, needs_of(self.checks), self.demo.collectors, self.password)
        return pipeline.build_results(self.site, self.checks, facts, pipeline.RunOptions())

    def plan(self, fail_on: str = "fail") -> Plan:
        results = self.results()
        return make_plan(results, pipeline.directory_server(self.site), checks=[c.id for c in self.checks],
                         fail_on=fail_on)

    def held(self, plan: Plan) -> Replanned:
        """The plan held against one made now (apply does it first; a fault test sets its fault after)."""
        return replan(plan, self.site, self.checks, self.demo.collectors, self.password)

    def apply(self, plan: Plan, name: str = "record.json", verify: bool = True, held: Replanned | None = None) -> Record:
        path = self.record_dir / name
        record = runner.apply_plan(plan, self.site, connections=self.connections(), password_for=self.password,
                                   record_path=path, checks=self.checks, replanned=held)
        if verify:
            runner.verify(plan, record, self.site, self.checks, self.connections(), self.password, path)
        return record

    def revert(self, record: Record, name: str = "revert.json") -> Record:
        return runner.revert_record(record, self.site, connections=self.connections(), password_for=self.password,
                                    record_path=self.record_dir / name)

    def descriptors(self) -> dict[str, str]:
        """Every share and folder descriptor of every simulated host."""
        out = {}
        for host, sim in self.sims.items():
            for share in sim.shares:
                out[f"{host} share {share.name}"] = share.sddl
            for folder in sim.folders:
                out[f"{host} folder {folder.path}"] = folder.ntfs_sddl
        return out

    def groups(self) -> dict[str, list[str]]:
        return {f"{host} {g.name}": list(g.members) for host, sim in self.sims.items() for g in sim.groups}

    def rules(self) -> dict[str, list[tuple[str, bool]]]:
        return {host: [(r.name, r.enabled) for r in sim.firewall] for host, sim in self.sims.items()}


@contextmanager
def started_lab(record_dir: Path) -> Iterator[Lab]:
    demo = start_demo()
    # the probes' modelled waits (hv01's probe of an address no machine answers waits the script's 4 s)
    # are measured in tests/hosts and bench/; here they would only make every collection 4 s longer
    demo.endpoint.model_time = False
    try:
        for sim in demo.endpoint.hosts.values():
            for share in sim.shares:
                share.sddl = canonical(share.sddl)
            for folder in sim.folders:
                folder.ntfs_sddl = canonical(folder.ntfs_sddl)
        yield Lab(demo, discover(include_entry_points=False).checks, record_dir)
    finally:
        demo.stop()
