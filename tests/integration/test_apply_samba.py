"""plan -> apply --yes -> the ad.* findings pass -> revert -> every touched attribute byte-identical,
against a real Samba AD DC, through the command line.

The domain has the walkthrough's mistakes, made the way administrators make them (samba-tool):
Kerberos-only delegation, no delegation at all, unconstrained delegation, a "sensitive" VMM service
account, a Run As account in Protected Users, a file server whose name no account holds as an SPN.
The Hyper-V hosts (whose tickets apply purges) are simulated behind the loopback WS-Management
endpoint, reached by name through /etc/hosts. What the DC holds is read back with ldbsearch on its
own sam.ldb, not through offlineprep.

Also here: a change made between plan and apply is refused; a second apply changes nothing (not even
uSNChanged); an account without the delegation right gets an error that names it; Samba's answer to a
write of msDS-AllowedToActOnBehalfOfOtherIdentity; and the DC stopped (SIGSTOP) in the middle of
apply, with revert of the partial record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samba import ADMIN_PASSWORD, DC_FQDN, SambaDC

from offlineprep.actions import types as t
from offlineprep.engine import discover
from offlineprep.lab.windows import SimulatedHost, SimVM
from offlineprep.lab.winrm_endpoint import WinRMEndpoint

WINRM_PASSWORD = "Apply-Winrm-Pa55"
HOSTS = ["aphv1.lab.test", "aphv2.lab.test", "aphv3.lab.test", "aphv11.lab.test", "apfs1.lab.test",
         "apfs2.lab.test"]
WRITER_PASSWORD = "Wr1ter-Passw0rd!x"
ATTRIBUTES = ["userAccountControl", "msDS-AllowedToDelegateTo", "servicePrincipalName", "member", "memberOf"]


@pytest.fixture(scope="module")
def hosts_file() -> Iterator[None]:
    path = Path("/etc/hosts")
    original = path.read_text()
    path.write_text(original + "".join(f"127.0.0.1 {n}\n" for n in HOSTS))
    try:
        yield
    finally:
        path.write_text(original)


@pytest.fixture(scope="module")
def domain(samba_dc: SambaDC) -> dict[str, Any]:
    dc = samba_dc
    all_cifs = ["cifs/apfs1.lab.test", "cifs/APFS1", "cifs/apfs2.lab.test", "cifs/APFS2"]
    for name in ("APFS1", "APFS2"):
        dc.computer(name)
    dc.modify(f"dn: CN=APFS1,CN=Computers,{dc.base_dn}\nchangetype: modify\nreplace: servicePrincipalName\n"
              "servicePrincipalName: HOST/apfs1.lab.test\nservicePrincipalName: HOST/APFS1\n")
    dc.modify(f"dn: CN=APFS2,CN=Computers,{dc.base_dn}\nchangetype: modify\nreplace: servicePrincipalName\n"
              "servicePrincipalName: HOST/APFS2\n")  # nobody holds HOST/apfs2.lab.test, the name the path uses
    dc.computer("APHV1")  # Kerberos-only constrained delegation
    for spn in all_cifs:
        dc.tool("delegation", "add-service", "APHV1$", spn)
    dc.computer("APHV2")  # no delegation at all
    dc.computer("APHV3")  # unconstrained delegation
    dc.tool("delegation", "for-any-service", "APHV3$", "on")
    dc.computer("APHV11")  # a target host: a warning, not planned
    dc.user("ap-vmm")
    dc.set_attribute(f"CN=ap-vmm,CN=Users,{dc.base_dn}", "userAccountControl", str(0x200 | 0x100000))
    dc.user("ap-runas")
    dc.tool("group", "addmembers", "Protected Users", "ap-runas")
    dc.user("ap-writer", WRITER_PASSWORD)  # may write APHV2, lacks SeEnableDelegationPrivilege
    writer_sid = _sid(dc, "ap-writer")
    dc.tool("dsacl", "set", "-H", str(dc.sam), "--objectdn", f"CN=APHV2,CN=Computers,{dc.base_dn}",
            "--sddl", f"(A;;RPWPCRSW;;;{writer_sid})")
    dns = {name: f"CN={name},CN=Computers,{dc.base_dn}" for name in ("APFS1", "APFS2", "APHV1", "APHV2", "APHV3")}
    dns.update({"ap-vmm": f"CN=ap-vmm,CN=Users,{dc.base_dn}", "ap-runas": f"CN=ap-runas,CN=Users,{dc.base_dn}",
                "Protected Users": f"CN=Protected Users,CN=Users,{dc.base_dn}"})
    return {"dc": dc, "dns": dns}


def _sid(dc: SambaDC, name: str) -> str:
    text = subprocess.run(["ldbsearch", "-H", str(dc.sam), f"(sAMAccountName={name})", "objectSid"],
                          capture_output=True, text=True, check=True).stdout
    return next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("objectSid:"))


def snapshot(dc: SambaDC, dns: dict[str, str], *extra: str) -> dict[str, dict[str, list[str]]]:
    """The touched attributes of every object as the DC's own database prints them: each attribute's values
    byte for byte, in stored order. (The order of the attributes of an entry is not compared: an entry's
    attributes are an unordered set in LDAP, RFC 4511 section 4.1.7, and the DC stores an attribute that was
    deleted and added again after the others.)"""
    out: dict[str, dict[str, list[str]]] = {}
    for name, dn in dns.items():
        text = subprocess.run(["ldbsearch", "-H", str(dc.sam), "-b", dn, "-s", "base", *ATTRIBUTES, *extra],
                              capture_output=True, text=True, check=True).stdout
        attributes: dict[str, list[str]] = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and ": " in line:
                attribute, value = line.split(": ", 1)
                attributes.setdefault(attribute, []).append(value)
        out[name] = attributes
    return out


@pytest.fixture
def endpoint(hosts_file: None) -> Iterator[WinRMEndpoint]:
    hyperv = {"hyperv_installed": True, "os_caption": "Microsoft Windows Server 2012 R2 Datacenter"}
    sims = {name: SimulatedHost(name.upper(), vms=[SimVM("vm", 2**30)], **hyperv)  # type: ignore[arg-type]
            for name in HOSTS if name.startswith("aphv")}
    sims.update({name: SimulatedHost(name.upper()) for name in HOSTS if name.startswith("apfs")})
    with WinRMEndpoint(sims, username="lab\\preflight", password=WINRM_PASSWORD) as ep:
        yield ep


def write_site(folder: Path, dc: SambaDC, port: int, apply_user: str | None = None, timeout: int = 10) -> Path:
    site = folder / "site.toml"
    site.write_text(
        f'[directory]\nserver = "{dc.url}"\nuser = "Administrator@lab.test"\nca_file = \'{dc.ca_file}\'\n'
        f"timeout_seconds = {timeout}\n"
        + (f'apply_user = "{apply_user}"\n' if apply_user else "")
        + f'[winrm]\ntransport = "basic"\nscheme = "http"\nport = {port}\nuser = "lab\\\\preflight"\n'
        "allow_unencrypted = true\n"  # the simulated hosts answer on loopback, Basic over HTTP only
        "timeout_seconds = 10\n"
        '[accounts]\nvmm_service = "LAB\\\\ap-vmm"\nrun_as = ["LAB\\\\ap-runas"]\n'
        '[source]\nhosts = ["aphv1.lab.test", "aphv2.lab.test", "aphv3.lab.test"]\n'
        "export_path = '\\\\apfs1.lab.test\\Exp'\n"
        "[target]\nhosts = [\"aphv11.lab.test\"]\nimport_path = '\\\\apfs2.lab.test\\Imp'\n")
    return site


def cli(*args: str, apply_password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OFFLINEPREP_LDAP_PASSWORD": ADMIN_PASSWORD, "OFFLINEPREP_WINRM_PASSWORD": WINRM_PASSWORD,
           "COLUMNS": "300"}
    if apply_password:
        env["OFFLINEPREP_LDAP_APPLY_PASSWORD"] = apply_password
    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def plan(tmp_path: Path, site: Path) -> dict[str, Any]:
    proc = cli("plan", "--config", str(site), "--only", "ad.*", "--output", str(tmp_path / "plan.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads((tmp_path / "plan.json").read_text())
    return data


def steps_of(record: dict[str, Any]) -> dict[str, str]:
    """{"<kind> <object>": outcome}: the object is the account, computer, SPN or machine the step changes."""
    out = {}
    for s in record["steps"]:
        a = s["action"]
        name = next((v for v in (a.get("account"), a.get("computer"), a.get("member"), a.get("spn"))
                     if isinstance(v, str)), (a.get("owner") or {}).get("name"))
        out[f"{a['kind']} {name}"] = s["outcome"]
    return out


def test_plan_apply_check_again_apply_again_and_revert_to_the_same_bytes(domain: dict[str, Any], endpoint: WinRMEndpoint,
                                                                        tmp_path: Path) -> None:
    dc, dns = domain["dc"], domain["dns"]
    before = snapshot(dc, dns)
    site = write_site(tmp_path, dc, endpoint.port)
    planned = plan(tmp_path, site)
    kinds = sorted(s["action"]["kind"] for s in planned["steps"])
    # APHV2 and APHV3 get their cifs entries for each file server (two steps each, the second starting where
    # the first ends), three protocol transitions (APHV3's also turns unconstrained delegation off)
    # ap-runas in Protected Users is a warning, not a step: Samba 4.17 provisions the domain at functional level
    # 2008 R2, below which Protected Users does not block delegation (docs/clusters.md, ad.account-delegable)
    assert kinds == sorted(["ad.clear-not-delegated", *["ad.delegation-values"] * 4,
                            *["ad.protocol-transition"] * 3, "ad.spn", *["host.kerberos-refresh"] * 3]), kinds
    assert all(s["action"]["owner"]["name"] == DC_FQDN for s in planned["steps"] if s["how"] == "directory")

    record = tmp_path / "record.json"
    proc = cli("apply", str(tmp_path / "plan.json"), "--config", str(site), "--yes", "--record", str(record))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the re-check's verdict in preflight's words: the plan's run was `--only 'ad.*'`
    assert "READY (partial: " in proc.stdout and "after apply" in proc.stdout, proc.stdout
    assert "READY for the " not in proc.stdout
    applied = json.loads(record.read_text())
    assert applied["verification"]["headline"].startswith("READY (partial: ")
    assert set(steps_of(applied).values()) == {"applied"}, steps_of(applied)
    verdicts = {v["finding"]["check"] + " " + v["finding"]["subject"] + " " + (v["finding"].get("target") or ""):
                v["status"] for v in applied["verification"]["findings"]}
    assert set(verdicts.values()) == {"pass"}, verdicts
    after = snapshot(dc, dns)
    assert after["APHV1"]["userAccountControl"] == ["16781312"]  # 0x1001000: any authentication protocol
    assert after["APHV3"]["userAccountControl"] == ["16781312"]  # unconstrained (0x80000) off, any protocol on
    assert len(after["APHV2"]["msDS-AllowedToDelegateTo"]) == 4
    assert "HOST/apfs2.lab.test" in after["APFS2"]["servicePrincipalName"]
    assert after["ap-vmm"]["userAccountControl"] == ["512"]
    assert after["Protected Users"] == before["Protected Users"]  # a warning at this level: nothing planned
    assert all(endpoint.hosts[h].tickets_purged == 1 for h in ("aphv1.lab.test", "aphv2.lab.test", "aphv3.lab.test"))

    # a second apply of the same plan changes nothing: not even the objects' update sequence numbers
    usn = snapshot(dc, dns, "uSNChanged")
    proc = cli("apply", str(tmp_path / "plan.json"), "--config", str(site), "--yes", "--record",
               str(tmp_path / "again.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(steps_of(json.loads((tmp_path / "again.json").read_text())).values()) == {"already"}
    assert snapshot(dc, dns, "uSNChanged") == usn

    # the revert's dry run reads the DC now (before: it listed the record's "applied" for every step): the bit
    # apply set, cleared since by someone else, is "as before" with the value read now; once set again, "would
    # put back"
    dc.set_attribute(dns["APHV1"], "userAccountControl", str(0x1000))
    proc = cli("revert", str(record), "--config", str(site))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    aphv1 = next(line for line in proc.stdout.splitlines() if "APHV1: Turn on" in line)
    assert "as before" in aphv1 and "(apply: applied)" not in proc.stdout, proc.stdout
    assert "now: userAccountControl: 0x1000" in proc.stdout
    dc.set_attribute(dns["APHV1"], "userAccountControl", str(0x1001000))
    proc = cli("revert", str(record), "--config", str(site))
    aphv1 = next(line for line in proc.stdout.splitlines() if "APHV1: Turn on" in line)
    assert "would put back" in aphv1 and "changed: left" not in proc.stdout, proc.stdout
    assert "now: userAccountControl: 0x1001000" in proc.stdout

    proc = cli("revert", str(record), "--config", str(site), "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # revert's own re-check: what it put back, read again on the DC
    assert "steps read again as before apply" in proc.stdout and "(exit 0)" in proc.stdout
    # revert inverts by type (docs/security.md): the bit apply set is cleared, and unconstrained delegation, which
    # apply turned off on APHV3, stays off (revert never widens delegation); every other attribute byte for byte
    reverted = snapshot(dc, dns)
    assert reverted["APHV3"]["userAccountControl"] == ["4096"] and before["APHV3"]["userAccountControl"] == ["528384"]
    assert {k: v for k, v in reverted.items() if k != "APHV3"} == {k: v for k, v in before.items() if k != "APHV3"}


def test_a_change_made_between_plan_and_apply_is_refused(domain: dict[str, Any], endpoint: WinRMEndpoint,
                                                        tmp_path: Path) -> None:
    dc, dns = domain["dc"], domain["dns"]
    before = snapshot(dc, dns)
    site = write_site(tmp_path, dc, endpoint.port)
    plan(tmp_path, site)
    # meanwhile an administrator sets "password never expires" (0x10000) on APHV1
    dc.set_attribute(dns["APHV1"], "userAccountControl", str(0x1000 | 0x10000))
    changed = snapshot(dc, dns, "*")
    record = tmp_path / "record.json"
    proc = cli("apply", str(tmp_path / "plan.json"), "--config", str(site), "--yes", "--record", str(record))
    # apply plans again: APHV1's protocol transition now starts from 0x11000, another action than the file's, so
    # the whole apply is refused, naming the step, before anything is sent
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "nothing was applied" in proc.stderr and "(ad.protocol-transition, AD" in proc.stderr
    assert not record.exists()
    assert snapshot(dc, dns, "*") == changed  # every attribute of every object, as the administrator left it
    dc.set_attribute(dns["APHV1"], "userAccountControl", str(0x1000))
    assert snapshot(dc, dns) == before


def test_an_account_without_the_delegation_right_gets_an_error_naming_it(domain: dict[str, Any],
                                                                         endpoint: WinRMEndpoint,
                                                                         tmp_path: Path) -> None:
    dc, dns = domain["dc"], domain["dns"]
    before = snapshot(dc, dns)
    site = write_site(tmp_path, dc, endpoint.port, apply_user="ap-writer@lab.test")
    plan(tmp_path, site)
    record = tmp_path / "record.json"
    proc = cli("apply", str(tmp_path / "plan.json"), "--config", str(site), "--yes", "--record", str(record),
               apply_password=WRITER_PASSWORD)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    data = json.loads(record.read_text())
    assert data["as_whom"]["directory"] == "ap-writer@lab.test"
    by_step: dict[str, Any] = {}
    for s in data["steps"]:  # the first step of each kind and object
        by_step.setdefault(s["action"]["kind"] + " " + str(s["action"].get("account") or s["action"].get("computer")), s)
    later = [s for s in data["steps"] if s["action"]["kind"] == "ad.delegation-values"
             and s["action"]["computer"] == "APHV2"][1]
    assert later["outcome"] == "not-run" and "did not go through" in later["message"]
    # it may write APHV2, but not its delegation: the DC refuses, and the message names the right
    values = by_step["ad.delegation-values APHV2"]
    assert values["outcome"] == "failed"
    assert "insufficient rights: ap-writer@lab.test lacks the right 'Enable computer and user accounts to be " \
           "trusted for delegation' (SeEnableDelegationPrivilege)" in values["message"]
    # it may not write APHV1 at all: insufficient rights, naming what the change needs
    transition = by_step["ad.protocol-transition APHV1"]
    assert transition["outcome"] == "failed" and "insufficient rights: ap-writer@lab.test may not make this " \
        "change" in transition["message"] and "SeEnableDelegationPrivilege" in transition["message"]
    assert "insufficient rights" in proc.stdout
    assert snapshot(dc, dns) == before  # nothing was changed


def test_samba_refuses_resource_based_delegation_over_ldap_and_apply_says_so(domain: dict[str, Any],
                                                                            endpoint: WinRMEndpoint,
                                                                            tmp_path: Path) -> None:
    """No check of the Samba scenario plans resource-based delegation (and apply carries out nothing no
    plan made now makes), so the step goes to the LDAP changer itself."""
    from offlineprep.apply import directory as ad
    from offlineprep.sitefile import load_site

    dc, dns = domain["dc"], domain["dns"]
    action = t.AllowDelegationFrom(computer="APFS1", principals=["APHV1"], owner=t.Owner(kind="directory", name=DC_FQDN))
    before = snapshot(dc, {"APFS1": dns["APFS1"]}, "msDS-AllowedToActOnBehalfOfOtherIdentity")
    config = load_site(write_site(tmp_path, dc, endpoint.port)).primary_directory
    assert config is not None
    conn = ad.connect_for_changes(config, ADMIN_PASSWORD)
    try:
        step = ad.Changer(conn, config.base_dn, config.user).apply(action)
    finally:
        conn.unbind()
    assert step.outcome.value == "failed"
    assert "constraintViolation" in step.message and "can only be modified as system" in step.message
    assert "samba-tool delegation add-principal" in step.message
    assert snapshot(dc, {"APFS1": dns["APFS1"]}, "msDS-AllowedToActOnBehalfOfOtherIdentity") == before


def test_the_dc_stopping_in_the_middle_leaves_a_record_of_what_was_done_and_revert_takes_it_back(
        domain: dict[str, Any], endpoint: WinRMEndpoint, tmp_path: Path) -> None:
    from offlineprep.apply import runner
    from offlineprep.apply.model import Outcome
    from offlineprep.apply.planner import digest, load_plan, load_record
    from offlineprep.sitefile import load_site

    dc, dns = domain["dc"], domain["dns"]
    before = snapshot(dc, dns)
    site_file = write_site(tmp_path, dc, endpoint.port, timeout=3)
    plan(tmp_path, site_file)
    the_plan, site = load_plan(tmp_path / "plan.json"), load_site(site_file)
    record_path = tmp_path / "record.json"

    def password(env: str, purpose: str) -> str:
        return ADMIN_PASSWORD if "LDAP" in env else WINRM_PASSWORD

    def stop_the_dc_after_the_first(step: Any) -> None:
        if step.number == 1:
            dc.pause()

    connections = runner.Connections(host_factory=lambda config, pw: endpoint.protocol_factory(10, password=pw))
    try:
        record = runner.apply_plan(the_plan, site, connections=connections, password_for=password,
                                   record_path=record_path, on_step=stop_the_dc_after_the_first,
                                   checks=discover(include_entry_points=False).checks,
                                   plan_file=str(tmp_path / "plan.json"), plan_sha256=digest(tmp_path / "plan.json"))
    finally:
        dc.resume()
    said = {s.number: s for s in record.steps}
    assert said[1].outcome is Outcome.APPLIED
    assert said[2].outcome in (Outcome.NOT_RUN, Outcome.UNKNOWN) and "stopped answering" in said[2].message
    later = [s for s in record.steps if s.how.value == "directory" and s.number > 2]
    assert later and all(s.outcome is Outcome.NOT_RUN and "not sent" in s.message for s in later)
    assert {s.outcome for s in record.steps if s.action.kind == "host.kerberos-refresh"} == {Outcome.APPLIED}
    assert runner.apply_exit_code(the_plan, record) == 3
    on_disk = load_record(record_path)
    assert [s.outcome for s in on_disk.steps] == [s.outcome for s in record.steps]

    proc = cli("revert", str(record_path), "--config", str(site_file), "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert snapshot(dc, dns) == before


def test_a_tampered_plan_leaves_every_attribute_byte_identical(domain: dict[str, Any], endpoint: WinRMEndpoint,
                                                              tmp_path: Path) -> None:
    """The attacks of issue 20 against the real DC: an honest plan, its steps replaced with recomputed ids
    (ap-runas into Domain Admins under the labels "ap-vmm" / "HV-Admins"; APHV3's protocol transition
    turned onto APFS2; an SPN for roasting on ap-vmm). apply refuses the whole plan; ldbsearch of every
    attribute of every object is unchanged."""
    from offlineprep.apply.model import Plan

    dc, dns = domain["dc"], domain["dns"]
    every = {**dns, "Domain Admins": f"CN=Domain Admins,CN=Users,{dc.base_dn}"}
    site = write_site(tmp_path, dc, endpoint.port)
    data = plan(tmp_path, site)
    runas, admins = f"CN=ap-runas,CN=Users,{dc.base_dn}", _sid(dc, "Domain Admins")
    replaced = {
        "ad.clear-not-delegated": {"kind": "ad.group-member", "owner": {"kind": "directory", "name": DC_FQDN},
                                   "group_sid": admins, "member": runas, "member_dn": runas,
                                   "member_label": "LAB\\ap-vmm", "group_label": "HV-Admins"},
        "ad.spn": {"kind": "ad.spn", "owner": {"kind": "directory", "name": DC_FQDN}, "spn": "http/roast.lab.test",
                   "add_to": f"CN=ap-vmm,CN=Users,{dc.base_dn}", "add_to_label": "APFS2"},
    }
    for step in data["steps"]:
        action = step["action"]
        if action["kind"] in replaced:
            step["action"] = replaced[action["kind"]]
        elif action["kind"] == "ad.protocol-transition" and action["account"] == "APHV3":
            # "any authentication protocol" on APFS2, which no finding names (extra bits such as 0x80000 or
            # 0x400000 are refused by the plan model itself: tests/security/test_bits_not_values.py)
            action["account"] = "APFS2"
    ids = Plan.model_validate(data)  # the ids recomputed, as anyone who can write the file does
    for step, made in zip(data["steps"], ids.steps, strict=True):
        step["action"]["id"] = made.action.id
    (tmp_path / "plan.json").write_text(json.dumps(data))
    before = snapshot(dc, every, "*")
    proc = cli("apply", str(tmp_path / "plan.json"), "--config", str(site), "--yes", "--record",
               str(tmp_path / "record.json"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "nothing was applied" in proc.stderr
    for kind in ("ad.group-member", "ad.spn", "ad.protocol-transition"):
        assert f"({kind}, AD" in proc.stderr, proc.stderr
    assert f"{admins} (LAB\\Domain Admins)" in proc.stdout  # what a reviewer of the dry run reads
    assert not (tmp_path / "record.json").exists()
    assert snapshot(dc, every, "*") == before  # every attribute of every object, byte for byte
