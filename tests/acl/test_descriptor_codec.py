"""The security descriptor codec (offlineprep.security_descriptor): known bytes, round trips, and
one exception, DescriptorError, for any bad input, binary or text."""

from __future__ import annotations

import contextlib
import re
import struct
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from offlineprep import acl, rbcd
from offlineprep.apply.states import allowed_sids as apply_allowed_sids
from offlineprep.apply.states import descriptor_allowing
from offlineprep.security_descriptor import (
    ACE_FLAG_BITS,
    ACE_TYPE_CODES,
    ACE_TYPES,
    CALLBACK_ACE_TYPES,
    OBJECT_ACE_TYPES,
    Ace,
    DescriptorError,
    SecurityDescriptor,
    allowed_sids,
    decode_descriptor,
    encode_ace,
    encode_descriptor,
    format_sddl,
    parse_sddl,
    sid_from_bytes,
    sid_to_bytes,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOST = "S-1-5-21-1000-2000-3000-1105"

# --------------------------------------------------------------------------- SIDs (MS-DTYP 2.4.2)


def test_a_sid_has_the_binary_form_of_ms_dtyp_2_4_2_2() -> None:
    assert sid_to_bytes("S-1-5-32-544") == bytes.fromhex("01020000000000052000000020020000")
    assert sid_from_bytes(bytes.fromhex("01020000000000052000000020020000")) == ("S-1-5-32-544", 16)
    assert sid_from_bytes(b"\xff" + sid_to_bytes(HOST), 1) == (HOST, 28)
    assert sid_to_bytes("S-1-1-0") == bytes.fromhex("010100000000000100000000")
    # 2.4.2.1: an authority of 2^32 or more is written in hex, 12 digits
    big = bytes([1, 1]) + (1 << 40).to_bytes(6, "big") + struct.pack("<I", 7)
    assert sid_from_bytes(big) == ("S-1-0x010000000000-7", 12)
    assert sid_to_bytes("S-1-0x010000000000-7") == big


@pytest.mark.parametrize("text", ["", "S-1", "S-2-5-32", "S-1-5-x", "X-1-5-32-544", "S-1-5-" + "-".join(["1"] * 16),
                                  "S-1-5-4294967296", "S-1-281474976710656-1", None])
def test_a_sid_text_that_is_no_sid_is_a_descriptor_error(text: str) -> None:
    with pytest.raises(DescriptorError):
        sid_to_bytes(text)


@pytest.mark.parametrize(("data", "offset", "what"), [
    (b"\x01\x01\x00\x00\x00\x00\x00\x05", 0, "runs past the end"),  # one sub-authority, none there
    (b"\x02\x00\x00\x00\x00\x00\x00\x05", 0, "revision 2"),
    (b"\x01\x10" + b"\x00" * 70, 0, "16 sub-authorities"),
    (b"\x00\x00\x01\x01", 2, "runs past the end"),
])
def test_binary_that_is_no_sid_is_a_descriptor_error_naming_the_byte(data: bytes, offset: int, what: str) -> None:
    with pytest.raises(DescriptorError, match=what) as raised:
        sid_from_bytes(data, offset)
    assert raised.value.offset == offset and f"byte {offset}" in str(raised.value)


sids = st.builds(
    lambda authority, subs: sid_from_bytes(bytes([1, len(subs)]) + authority.to_bytes(6, "big")
                                           + struct.pack(f"<{len(subs)}I", *subs))[0],
    st.one_of(st.sampled_from([0, 1, 3, 5, 15, 16, 18]), st.integers(0, (1 << 48) - 1)),
    st.lists(st.integers(0, (1 << 32) - 1), max_size=15),
)


@FAST
@given(sids)
def test_a_sid_round_trips(sid: str) -> None:
    data = sid_to_bytes(sid)
    assert sid_from_bytes(data) == (sid, len(data))


# --------------------------------------------------------------------------- descriptors (2.4.4-2.4.6)

guids = st.uuids().map(str)


@st.composite
def aces(draw: st.DrawFn, types: list[str] | None = None, flag_names: list[str] | None = None,
         application_data: bool = True) -> Ace:
    kind = draw(st.sampled_from(types or sorted(ACE_TYPE_CODES)))
    flags = draw(st.frozensets(st.sampled_from(flag_names or [name for name, _ in ACE_FLAG_BITS])))
    is_object = kind in OBJECT_ACE_TYPES
    data = b""
    if application_data and (kind in CALLBACK_ACE_TYPES or kind == "RA" or draw(st.booleans())):
        data = draw(st.binary(max_size=24))
    return Ace(type=kind, flags=flags, mask=draw(st.integers(0, 0xFFFFFFFF)), sid=draw(sids),
               object_type=draw(st.one_of(st.just(""), guids)) if is_object else "",
               inherited_object_type=draw(st.one_of(st.just(""), guids)) if is_object else "",
               application_data=data)


@st.composite
def descriptors(draw: st.DrawFn) -> SecurityDescriptor:
    def acl() -> tuple[tuple[Ace, ...] | None, int]:
        entries = draw(st.one_of(st.none(), st.lists(aces(), max_size=5).map(tuple)))
        if entries is None:  # no ACL: no revision to keep
            return None, 2
        revision = 4 if any(a.type in OBJECT_ACE_TYPES for a in entries) else draw(st.sampled_from([2, 4]))
        return entries, revision

    dacl, dacl_revision = acl()
    sacl, sacl_revision = acl()
    return SecurityDescriptor(
        owner=draw(st.one_of(st.none(), sids)), group=draw(st.one_of(st.none(), sids)), dacl=dacl,
        dacl_flags=draw(st.frozensets(st.sampled_from(["P", "AR", "AI"]))), sacl=sacl,
        dacl_revision=dacl_revision, sacl_revision=sacl_revision,
        # owner, group, DACL and SACL defaulted, the SACL's inheritance bits, RM control valid
        control=draw(st.integers(0, 0xFFFF).map(lambda c: c & (0x1 | 0x2 | 0x8 | 0x20 | 0x200 | 0x800 | 0x2000
                                                                | 0x4000))))


@FAST
@given(descriptors())
def test_a_descriptor_round_trips_through_its_binary_form(descriptor: SecurityDescriptor) -> None:
    blob = encode_descriptor(descriptor)
    assert decode_descriptor(blob) == descriptor
    assert encode_descriptor(decode_descriptor(blob)) == blob


@FAST
@given(descriptors())
def test_every_truncation_is_a_descriptor_error(descriptor: SecurityDescriptor) -> None:
    blob = encode_descriptor(descriptor)
    for cut in range(len(blob)):
        with pytest.raises(DescriptorError):
            decode_descriptor(blob[:cut])


def _read_all(blob: bytes) -> None:
    """Everything offlineprep does with a descriptor read from the directory, each step allowed
    to refuse with DescriptorError only."""
    try:
        descriptor = decode_descriptor(blob)
    except DescriptorError:
        return
    allowed_sids(descriptor)
    rbcd.allows(rbcd.kdc_sddl(descriptor), HOST)
    rbcd.allows(rbcd.kdc_descriptor(descriptor), HOST)
    for step in (format_sddl, encode_descriptor):
        with contextlib.suppress(DescriptorError):
            step(descriptor)


@FAST
@given(descriptors(), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6))
def test_garbled_bytes_are_read_or_refused_with_a_descriptor_error(descriptor: SecurityDescriptor,
                                                                    changes: list[tuple[int, int]]) -> None:
    blob = bytearray(encode_descriptor(descriptor))
    for position, value in changes:
        blob[position % len(blob)] = value
    _read_all(bytes(blob))


@FAST
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_read_or_refused_with_a_descriptor_error(blob: bytes) -> None:
    _read_all(blob)
    _read_all(b"\x01\x00\x04\x80" + blob)


@pytest.mark.parametrize(("blob", "what"), [
    (b"", "0 bytes"),
    (b"\x02" + b"\x00" * 19, "revision 2"),
    (b"\x01\x00\x04\x00" + b"\x00" * 16, "not self-relative"),
    (b"\x01\x00\x04\x80" + b"\x14\x00\x00\x00" * 4, "points outside"),
    (b"\x01\x00\x04\x80" + b"\x00" * 12 + b"\x14\x00\x00\x00" + b"\x02\x00\x10\x00\x01\x00\x00\x00"
     + b"\x00\x00\x08\x00\x00\x00\x00\x00", "size 8; at least 16"),
    (b"\x01\x00\x04\x80" + b"\x00" * 12 + b"\x14\x00\x00\x00" + b"\x03\x00\x08\x00\x00\x00\x00\x00", "revision 3"),
    (b"\x01\x00\x04\x80" + b"\x00" * 12 + b"\x14\x00\x00\x00" + b"\x02\x00\x20\x00\x01\x00\x00\x00"
     + b"\x04\x00\x18\x00" + b"\x00" * 20, "type 0x04"),
])
def test_a_malformed_descriptor_names_what_is_wrong(blob: bytes, what: str) -> None:
    with pytest.raises(DescriptorError, match=what):
        decode_descriptor(blob)


def test_the_one_error_is_the_one_every_module_names() -> None:
    assert acl.SddlError is DescriptorError and acl.DescriptorError is DescriptorError
    assert rbcd.DescriptorError is DescriptorError and issubclass(DescriptorError, ValueError)


def test_a_missing_dacl_is_a_null_one_as_sddl_without_d() -> None:
    blob = encode_descriptor(SecurityDescriptor(owner="S-1-5-32-544", group=None, dacl=None))
    assert decode_descriptor(blob) == parse_sddl("O:BA")
    assert rbcd.sddl_from_security_descriptor(blob) == "O:S-1-5-32-544D:NO_ACCESS_CONTROL"


def test_an_object_ace_makes_the_acl_revision_4() -> None:
    ace = Ace(type="OA", flags=frozenset(), mask=0x100, sid=HOST, object_type="00299570-246d-11d0-a768-00aa006e0529")
    descriptor = decode_descriptor(encode_descriptor(SecurityDescriptor(owner=None, group=None, dacl=(ace,))))
    assert descriptor.dacl == (ace,) and descriptor.dacl_revision == 4


def test_what_has_no_binary_or_text_form_is_a_descriptor_error() -> None:
    conditional = parse_sddl('D:(XA;;FA;;;WD;(@User.dept == "x"))').dacl
    assert conditional is not None
    with pytest.raises(DescriptorError, match="SDDL text only"):
        encode_ace(conditional[0])
    binary_condition = Ace(type="XA", flags=frozenset(), mask=1, sid=HOST, application_data=b"artx\x00\x00\x00\x00")
    with pytest.raises(DescriptorError, match="binary condition"):
        format_sddl(SecurityDescriptor(owner=None, group=None, dacl=(binary_condition,)))
    with pytest.raises(DescriptorError, match="not a GUID"):
        encode_ace(Ace(type="OA", flags=frozenset(), mask=1, sid=HOST, object_type="nope"))


# --------------------------------------------------------------------------- SDDL text (2.5.1)

@pytest.mark.parametrize(("text", "what", "where"), [
    ("O:BAD:(A;;FA;;;WD)(A;;ZZ;;;BA)", "unknown right 'ZZ'", 18),
    ("O:BA D:(A;;FA;;;WD) (Q;;FA;;;WD)", "unknown ACE type 'Q'", 20),  # counted in the text as given
    ("O:XXD:", "'XX' is not a SID", 2),
    ("D:PX(A;;FA;;;WD)", "unknown ACL flags 'X'", 2),
    ("D:(A;;FA;;;WD))", "unbalanced ')'", 14),
    ("O:BAO:BA", "appears twice", 4),
])
def test_bad_sddl_names_what_is_wrong_and_where(text: str, what: str, where: int) -> None:
    with pytest.raises(DescriptorError, match=re.escape(what)) as raised:
        parse_sddl(text)
    assert raised.value.offset == where and f"(at character {where})" in str(raised.value)


TEXT_TYPES = sorted(set(ACE_TYPES) - CALLBACK_ACE_TYPES)
TEXT_FLAGS = ["OI", "CI", "NP", "IO", "ID", "SA", "FA", "CR"]


@st.composite
def text_descriptors(draw: st.DrawFn) -> SecurityDescriptor:
    dacl = draw(st.one_of(st.none(), st.lists(aces(TEXT_TYPES, TEXT_FLAGS, application_data=False),
                                              max_size=5).map(tuple)))
    descriptor = SecurityDescriptor(owner=draw(st.one_of(st.none(), sids)), group=draw(st.one_of(st.none(), sids)),
                                    dacl=dacl, dacl_flags=draw(st.frozensets(st.sampled_from(["P", "AR", "AI"])))
                                    if dacl is not None else frozenset())
    assume(descriptor.owner or descriptor.group or descriptor.dacl is not None)
    return descriptor


@FAST
@given(text_descriptors())
def test_a_descriptor_round_trips_through_sddl(descriptor: SecurityDescriptor) -> None:
    assert parse_sddl(format_sddl(descriptor)) == descriptor


@FAST
@given(text_descriptors())
def test_sddl_and_binary_say_the_same(descriptor: SecurityDescriptor) -> None:
    decoded = decode_descriptor(encode_descriptor(descriptor))
    assert format_sddl(decoded) == format_sddl(descriptor)
    assert replace(decoded, dacl_revision=2) == descriptor


# --------------------------------------------------------------------------- what apply writes


def test_apply_writes_what_set_adcomputer_writes_and_keeps_every_other_part() -> None:
    fresh = decode_descriptor(descriptor_allowing(None, [HOST]))
    assert format_sddl(fresh) == f"O:S-1-5-32-544D:(A;;0xf01ff;;;{HOST})"  # O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;…)
    kept = SecurityDescriptor(
        owner="S-1-5-18", group="S-1-5-32-544", dacl_flags=frozenset({"P"}), control=0x4000,
        dacl=(Ace(type="D", flags=frozenset({"CI"}), mask=0x100, sid="S-1-1-0"),
              Ace(type="OA", flags=frozenset(), mask=0x100, sid="S-1-5-11",
                  object_type="00299570-246d-11d0-a768-00aa006e0529")),
        sacl=(Ace(type="AU", flags=frozenset({"SA"}), mask=0x1F01FF, sid="S-1-1-0"),), dacl_revision=4)
    after = decode_descriptor(descriptor_allowing(encode_descriptor(kept), [HOST, "S-1-5-11"]))
    assert after == replace(kept, dacl=(*(kept.dacl or ()), Ace(type="A", flags=frozenset(), mask=0xF01FF, sid=HOST)))
    assert apply_allowed_sids(encode_descriptor(after)) == ["S-1-5-11", HOST]


def test_apply_refuses_a_value_that_is_no_descriptor_naming_the_byte() -> None:
    truncated = encode_descriptor(SecurityDescriptor(owner=None, group=None, dacl=(
        Ace(type="A", flags=frozenset(), mask=0xF01FF, sid=HOST),)))[:-4]
    for step in (lambda: apply_allowed_sids(truncated), lambda: descriptor_allowing(truncated, [HOST])):
        with pytest.raises(DescriptorError, match=r"no readable security descriptor \(.*byte \d+"):
            step()
