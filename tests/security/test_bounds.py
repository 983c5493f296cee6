"""Issue 20, item 8: one host can neither hang a run nor exhaust its memory (docs/security.md,
"Bounded hosts"). The simulator's WinRM endpoint (loopback only, stopped by each test) drips an answer
one byte at a time or floods one; before, the read timeout restarted with every byte and requests read
the whole answer into memory."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest

from offlineprep.facts import ErrorKind
from offlineprep.lab.windows import Fault, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.site import WinRMConfig
from offlineprep.winrm import bounds
from offlineprep.winrm.delivery import CollectionStats, Ran, run_payload

HOST = "hv01.lab.test"
PAYLOAD = b"e30=\nWrite-Output 1"  # any script: the endpoint answers (and spoils) its Receive all the same


@pytest.fixture
def endpoint() -> Iterator[WinRMEndpoint]:
    hosts = {HOST: SimulatedHost("HV01.lab.test", hyperv_installed=True),
             "big.lab.test": SimulatedHost("BIG.lab.test", hyperv_installed=True, fault=Fault.HUGE)}
    with WinRMEndpoint(hosts, password="pw") as running:
        yield running


def _run(endpoint: WinRMEndpoint, timeout: float, host: str = HOST, payload: bytes = PAYLOAD) -> tuple[Ran, float]:
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=timeout,
                         message_encryption="never")
    started = time.monotonic()
    ran = run_payload(config, host, payload, endpoint.protocol_factory(timeout, password="pw"), "pw",
                      CollectionStats(), "test script")
    return ran, time.monotonic() - started


def test_a_host_dripping_its_answer_cannot_hold_the_run_past_its_deadline(endpoint: WinRMEndpoint) -> None:
    endpoint.dripping[HOST] = 0.05  # some 1,500 bytes: 75 s, each byte well within the 3 s read timeout
    ran, took = _run(endpoint, timeout=3)
    assert ran.error is not None and ran.error.kind is ErrorKind.TIMEOUT, ran.error
    assert took < 3 + 2, took  # before: the whole drip, over a minute


def test_a_300_mb_answer_is_never_read_whole(endpoint: WinRMEndpoint) -> None:
    endpoint.huge[HOST] = 300 * 2**20  # to the close of the connection, no length announced
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ran, took = _run(endpoint, timeout=60)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert ran.error is not None and ran.error.kind is ErrorKind.GARBAGE, ran.error
    assert "more than 4 MB in one WinRM answer" in ran.error.message
    assert grown_mb < 64, grown_mb  # before: 300 MB read, and copied (some 2.4 GB by the count)
    assert took < 20


def test_an_announced_huge_answer_is_refused_unread(endpoint: WinRMEndpoint) -> None:
    endpoint.huge[HOST] = 300 * 2**20
    endpoint.huge_declared = True
    ran, took = _run(endpoint, timeout=60)
    assert ran.error is not None and ran.error.kind is ErrorKind.GARBAGE
    assert "announced an answer of 314,572,800 bytes" in ran.error.message and took < 10


def test_many_answers_of_one_host_are_bounded_together(endpoint: WinRMEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    from offlineprep.winrm.scripts import script

    monkeypatch.setattr(bounds, "MAX_HOST_BYTES", 2**20)
    payload = b"e30=\n" + script("collect").text.encode("utf-8")  # the host answers 10 MB of JSON (Fault.HUGE)
    ran, _ = _run(endpoint, timeout=60, host="big.lab.test", payload=payload)
    assert ran.error is not None and ran.error.kind is ErrorKind.GARBAGE
    assert "more than 1 MB of WinRM answers in one run" in ran.error.message


def test_an_honest_host_still_answers(endpoint: WinRMEndpoint) -> None:
    ran, _ = _run(endpoint, timeout=10)
    assert ran.error is None and ran.reachable and ran.code == 1  # the endpoint refuses a script not ours


def test_a_host_answering_deeply_nested_json_is_garbage_not_a_crash() -> None:
    from offlineprep.winrm.delivery import decode_answer

    document, error = decode_answer(HOST, b"[" * 200_000 + b"]" * 200_000, b"", 0, "offlineprep/host/v1")
    assert document is None and error is not None and error.kind is ErrorKind.GARBAGE  # before: RecursionError
    assert "nested too deeply" in error.message


def test_an_apply_answer_line_nested_beyond_the_recursion_limit_is_an_odd_line_not_a_crash() -> None:
    """apply.ps1 answers one JSON line per step; a host that sends 200,000 nested brackets instead gets
    that line set aside as not an answer (the step then reads as not answered), never a RecursionError."""
    from offlineprep.apply.hosts import read_answers

    hostile = b"[" * 200_000 + b"]" * 200_000
    answers, finished, odd = read_answers(hostile + b"\n" + b'{"done": true}\n')
    assert answers == {} and finished and len(odd) == 1
