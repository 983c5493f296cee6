"""The site file's [vmm] and [[directory]] (docs/inventory.md): a single [directory] keeps working,
several domains each name theirs, VMM replaces the host lists and the service account, and every
error still names the file, the line and the key."""

from __future__ import annotations

import pytest
from sites import SITE_TOML

from offlineprep.errors import SiteFileError
from offlineprep.sitefile import parse_site

TWO_DOMAINS = SITE_TOML.replace('''[directory]
server = "ldaps://dc1.contoso.com"
user = "svc-preflight@contoso.com"
''', '''[[directory]]
domain = "contoso.com"
server = "ldaps://dc1.contoso.com"
user = "svc-preflight@contoso.com"

[[directory]]
domain = "fabrikam.com"
server = "ldaps://dc1.fabrikam.com"
user = "svc-preflight@fabrikam.com"
password_env = "FABRIKAM_LDAP_PASSWORD"
''')

VMM_SITE = SITE_TOML.replace('''[accounts]
vmm_service = "CONTOSO\\\\svc-vmm"
run_as = ["CONTOSO\\\\svc-runas"]
''', '''[vmm]
server = "vmm01.contoso.com"
source_cloud = "Gold"
target_cloud = "Recovery"
run_as = ["Host Admins"]
''').replace('hosts = ["hv01.contoso.com", "hv02"]\n', "").replace('hosts = ["hv11.contoso.com"]\n', "")


def error_for(text: str) -> str:
    with pytest.raises(SiteFileError) as caught:
        parse_site(text, "site.toml")
    return str(caught.value)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][nth - 1]


def test_a_single_directory_table_keeps_working() -> None:
    site = parse_site(SITE_TOML)
    assert [d.server for d in site.directories] == ["ldaps://dc1.contoso.com"]
    assert site.primary_directory is not None and site.primary_directory.domain is None


def test_one_directory_table_per_domain() -> None:
    site = parse_site(TWO_DOMAINS)
    assert [(d.domain, d.password_env) for d in site.directories] == [
        ("contoso.com", "OFFLINEPREP_LDAP_PASSWORD"), ("fabrikam.com", "FABRIKAM_LDAP_PASSWORD")]


def test_an_error_in_the_second_domain_names_its_own_line() -> None:
    text = TWO_DOMAINS.replace('server = "ldaps://dc1.fabrikam.com"', 'server = "dc1.fabrikam.com"')
    line = line_of(text, 'server = "dc1.fabrikam.com"')
    assert error_for(text).startswith(f"site.toml:{line}: [directory] server: 'dc1.fabrikam.com' is not an LDAP URL")


def test_several_domains_each_name_their_domain_once() -> None:
    text = TWO_DOMAINS.replace('domain = "fabrikam.com"\n', "")
    assert error_for(text) == (f"site.toml:{line_of(text, '[[directory]]', 2)}: [directory] domain: each "
                               '[[directory]] of several domains names its domain: domain = "contoso.com"')
    twice = TWO_DOMAINS.replace('domain = "fabrikam.com"', 'domain = "Contoso.com."')
    assert "'Contoso.com.' is listed twice" in error_for(twice)
    assert "is not a domain's DNS name" in error_for(TWO_DOMAINS.replace('"fabrikam.com"', '"fabrikam"'))


def test_vmm_names_the_hosts_and_the_service_account() -> None:
    site = parse_site(VMM_SITE)
    assert site.vmm is not None and site.vmm.server == "vmm01.contoso.com" and site.vmm.run_as == ["Host Admins"]
    assert site.source.hosts == [] and site.target.hosts == []
    assert site.accounts.vmm_service is None and site.accounts_to_check == []


def test_without_vmm_the_hosts_and_the_service_account_are_required() -> None:
    no_hosts = SITE_TOML.replace('hosts = ["hv11.contoso.com"]\n', "")
    assert error_for(no_hosts) == (f"site.toml:{line_of(no_hosts, '[target]')}: [target] hosts: list at least one "
                                   "host, or name the target cloud (or host groups) in [vmm]")
    half = VMM_SITE.replace('target_cloud = "Recovery"\n', "")
    assert "[target] hosts: list at least one host" in error_for(half)
    no_service = SITE_TOML.replace('vmm_service = "CONTOSO\\\\svc-vmm"\n', "")
    assert error_for(no_service) == f"site.toml:{line_of(no_service, '[accounts]')}: [accounts] vmm_service: " \
                                    "required key is missing"


def test_a_vmm_server_must_be_a_host_name() -> None:
    text = VMM_SITE.replace('server = "vmm01.contoso.com"', 'server = "vmm 01"')
    line = line_of(text, 'server = "vmm 01"')
    assert error_for(text).startswith(f"site.toml:{line}: [vmm] server:")


def test_a_password_in_the_second_directory_is_refused_on_its_line() -> None:
    text = TWO_DOMAINS.replace('password_env = "FABRIKAM_LDAP_PASSWORD"', 'password = "hunter2"')
    message = error_for(text)
    assert "hunter2" not in message and "literal password is not allowed" in message
