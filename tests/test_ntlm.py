"""ldap3's NTLM client computes Microsoft's published NTLMv2 example on this machine.

`[directory] auth = "ntlm"` binds through ldap3's own NTLM code (ldap3.utils.ntlm.NtlmClient), which
needs MD4 for the password hash: hashlib's, which OpenSSL 3 no longer provides, or pycryptodome's
`Crypto.Hash.MD4`, which offlineprep depends on for it (issue 24). Without MD4 the bind fails with
"unsupported hash type md4"; so this test fails, not skips, on a machine without it.

The values are MS-NLMP section 4.2.4, "NTLMv2 Authentication"
(https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/125f7a94-933e-4023-a146-a449e49bf774),
with the common values of section 4.2.1: user "User", domain "Domain", password "Password", server
challenge 01 23 45 67 89 ab cd ef, client challenge aa aa aa aa aa aa aa aa, time 0, and the
NetBIOS names "Domain" and "Server" as the target information.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from ldap3.utils import ntlm

USER, DOMAIN, PASSWORD = "User", "Domain", "Password"
SERVER_CHALLENGE = bytes.fromhex("0123456789abcdef")
CLIENT_CHALLENGE = bytes.fromhex("aaaaaaaaaaaaaaaa")
# 4.2.4: the challenge flags 33 82 8a e2 (NTLMSSP_NEGOTIATE_KEY_EXCH, _56, _128, _VERSION, _TARGET_INFO,
# _EXTENDED_SESSIONSECURITY, TARGET_TYPE_SERVER, _ALWAYS_SIGN, _NTLM, _SEAL, _SIGN, NTLM_NEGOTIATE_OEM, _UNICODE)
CHALLENGE_FLAGS = bytes.fromhex("33828ae2")
# the AV pairs MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL, as 4.2.4.1.3's temp holds them
TARGET_INFO = bytes.fromhex("02000c0044006f006d00610069006e00" "01000c0053006500720076006500720000000000")

RESPONSE_KEY_NT = bytes.fromhex("0c868a403bfd7a93a3001ef22ef02e3f")  # 4.2.4.1.1 NTOWFv2("Password", "User", "Domain")
SESSION_BASE_KEY = bytes.fromhex("8de40ccadbc14a82f15cb0ad0de95ca3")  # 4.2.4.1.2
TEMP = bytes.fromhex("0101000000000000" "0000000000000000" "aaaaaaaaaaaaaaaa" "00000000"  # 4.2.4.1.3
                     + TARGET_INFO.hex() + "00000000")
NT_PROOF_STR = bytes.fromhex("68cd0ab851e51c96aabc927bebef6a1c")  # 4.2.4.2.2, the first 16 bytes of the response


def challenge_message() -> bytes:
    """The server's CHALLENGE_MESSAGE of 4.2.4 laid out as MS-NLMP 2.2.1.2 says: signature, type 2,
    TargetNameFields, flags, ServerChallenge, Reserved, TargetInfoFields, Version, then the payload."""
    target_name = "Server".encode("utf-16-le")
    header = 56
    return (b"NTLMSSP\x00" + struct.pack("<I", 2)
            + struct.pack("<HHI", len(target_name), len(target_name), header)
            + CHALLENGE_FLAGS + SERVER_CHALLENGE + bytes(8)
            + struct.pack("<HHI", len(TARGET_INFO), len(TARGET_INFO), header + len(target_name))
            + bytes.fromhex("060070170000000f")  # Version (2.2.2.10): 6.0 build 6000, NTLMSSP_REVISION_W2K3
            + target_name + TARGET_INFO)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> ntlm.NtlmClient:
    """ldap3's client as a bind uses it, with the example's client challenge and time instead of
    random bytes and the clock: the only two inputs ldap3 does not take from the server."""
    monkeypatch.setattr(ntlm, "urandom", lambda n: CLIENT_CHALLENGE[:n])
    monkeypatch.setattr(ntlm.NtlmClient, "pack_windows_timestamp", staticmethod(lambda: bytes(8)))
    return ntlm.NtlmClient(domain=DOMAIN, user_name=USER, password=PASSWORD)


def test_the_response_key_is_ntowfv2_of_the_example(client: ntlm.NtlmClient) -> None:
    assert client.ntowf_v2().hex() == RESPONSE_KEY_NT.hex()


def test_the_authenticate_message_carries_the_published_ntlmv2_response(client: ntlm.NtlmClient) -> None:
    client.create_negotiate_message()
    client.parse_challenge_message(challenge_message())
    assert client.server_challenge == SERVER_CHALLENGE
    message = client.create_authenticate_message()
    length, _, offset = struct.unpack("<HHI", message[20:28])  # NtChallengeResponseFields (2.2.1.3)
    nt_response = message[offset:offset + length]
    assert nt_response[:16].hex() == NT_PROOF_STR.hex()
    assert nt_response[16:].hex() == TEMP.hex()
    # 4.2.4.1.2: SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr), from the proof ldap3 sent
    assert hmac.new(RESPONSE_KEY_NT, nt_response[:16], hashlib.md5).digest() == SESSION_BASE_KEY
