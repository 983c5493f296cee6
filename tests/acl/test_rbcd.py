"""Resource-based delegation read as the KDC reads it (offlineprep.rbcd): Samba packs the
descriptors (the DC's own NDR), offlineprep reads them back and decides control access."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from offlineprep.acl import effective_access
from offlineprep.rbcd import DescriptorError, allows, ds_mask, sddl_from_security_descriptor

DOMAIN = "S-1-5-21-1000-2000-3000"
HOST = f"{DOMAIN}-1105"
GROUP = f"{DOMAIN}-1200"
OTHER = "S-1-5-21-9-9-9-1105"  # the same RID in another domain: someone else
WINDOWS_RBCD = "O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{sid})"  # what Set-ADComputer -PrincipalsAllowed... writes


def pack(*sddls: str) -> list[bytes]:
    if not Path("/usr/bin/python3").exists() or shutil.which("samba-tool") is None:
        pytest.skip("python3-samba (Debian's /usr/bin/python3) is needed to pack descriptors as Samba does")
    out = subprocess.run(["/usr/bin/python3", str(Path(__file__).with_name("sd_pack.py"))], text=True,
                         input=json.dumps([{"sddl": s, "domain": DOMAIN} for s in sddls]), capture_output=True,
                         check=True).stdout
    return [base64.b64decode(x) for x in json.loads(out)]


def test_the_descriptor_windows_writes_allows_exactly_the_named_host() -> None:
    (blob,) = pack(WINDOWS_RBCD.format(sid=HOST))
    sddl = sddl_from_security_descriptor(blob)
    assert sddl == f"O:S-1-5-32-544D:(A;;0xf01ff;;;{HOST})"  # BA owner; CC..WO is 0xF01FF
    assert allows(sddl, HOST)
    assert not allows(sddl, OTHER)  # cross-domain: the SID decides, not the RID or the name


def test_a_group_of_the_host_counts_and_a_deny_wins() -> None:
    allow_group, deny_host = pack(WINDOWS_RBCD.format(sid=GROUP), f"O:BAD:(D;;CR;;;{HOST})(A;;CR;;;{GROUP})")
    assert allows(sddl_from_security_descriptor(allow_group), HOST, [GROUP])
    assert not allows(sddl_from_security_descriptor(allow_group), HOST, [])
    assert not allows(sddl_from_security_descriptor(deny_host), HOST, [GROUP])


def test_control_access_is_what_counts_and_generic_bits_map_as_a_directory_object_maps_them() -> None:
    only_read, only_cr, generic_write, generic_all = pack(
        f"O:BAD:(A;;RPWP;;;{HOST})", f"O:BAD:(A;;CR;;;{HOST})", f"O:BAD:(A;;GW;;;{HOST})", f"O:BAD:(A;;GA;;;{HOST})")
    assert not allows(sddl_from_security_descriptor(only_read), HOST)
    assert allows(sddl_from_security_descriptor(only_cr), HOST)
    # a file's GENERIC_WRITE would include 0x100 (FILE_WRITE_ATTRIBUTES); a directory object's does not
    assert not allows(sddl_from_security_descriptor(generic_write), HOST)
    assert allows(sddl_from_security_descriptor(generic_all), HOST)
    assert ds_mask(0x40000000) == 0x20028 and ds_mask(0x10000000) == 0xF01FF


def test_an_object_ace_applies_only_without_an_object_type() -> None:
    typed, untyped = pack(f"O:BAD:(OA;;CR;00299570-246d-11d0-a768-00aa006e0529;;{HOST})", f"O:BAD:(OA;;CR;;;{HOST})")
    assert "00299570-246d-11d0-a768-00aa006e0529" in sddl_from_security_descriptor(typed)
    assert not allows(sddl_from_security_descriptor(typed), HOST)  # the KDC asks for no object type
    assert allows(sddl_from_security_descriptor(untyped), HOST)


def test_the_conversion_keeps_what_an_access_check_needs() -> None:
    sddls = [f"O:BAG:SYD:(A;CI;0x1200a9;;;WD)(D;;0x100;;;{HOST})", WINDOWS_RBCD.format(sid=GROUP)]
    for sddl, blob in zip(sddls, pack(*sddls), strict=True):
        for token in ([HOST], [GROUP], ["S-1-1-0"]):
            assert effective_access(sddl_from_security_descriptor(blob), token) & 0xF01FF == \
                effective_access(sddl, token) & 0xF01FF


@pytest.mark.parametrize("blob", [b"", b"\x02" + b"\x00" * 19, b"\x01\x00\x04\x80" + b"\x14\x00\x00\x00" * 4])
def test_a_malformed_descriptor_is_an_error_not_a_crash(blob: bytes) -> None:
    with pytest.raises(DescriptorError):
        sddl_from_security_descriptor(blob)
