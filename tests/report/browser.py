"""Debian's headless Chromium, driven from Python: the DOM after scripts ran, console messages, pictures.

Two ways in. `open_page` is the plain command line (`--dump-dom`, `--screenshot`). `DevTools` speaks the
Chrome DevTools Protocol over `--remote-debugging-pipe` (file descriptors 3 and 4, JSON messages ended
by a NUL byte), so no websocket library is needed: it measures load times, emulates print media, takes
screenshots of a page as it is after scripts ran, and evaluates test-only code (axe-core) in the page.
DevTools evaluation is not subject to the page's Content-Security-Policy, so the report keeps its
strict policy while the test injects axe.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (scripts/setup.sh installs it)")
        pytest.skip("chromium is not installed")
    return found


@dataclass
class Page:
    dom: str
    console: list[str]


def open_page(path: Path, fragment: str = "", screenshot: Path | None = None) -> Page:
    with tempfile.TemporaryDirectory() as profile:
        args = [chromium(), *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1600"]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            args.append(f"--screenshot={screenshot}")
        else:
            args.append("--dump-dom")
        args.append(path.resolve().as_uri() + fragment)
        proc = subprocess.run(args, capture_output=True, text=True, timeout=90)
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Content Security Policy" in line]
    return Page(dom=proc.stdout, console=console)


class DevToolsError(RuntimeError):
    pass


@dataclass
class DevTools:
    """One headless Chromium and one page in it, over the DevTools pipe. Use as a context manager."""

    width: int = 1280
    height: int = 1600
    timeout: float = 60.0
    console: list[str] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = None
    _to_browser: int = -1
    _from_browser: int = -1
    _buffer: bytes = b""
    _next_id: int = 0
    _session: str = ""
    _events: list[dict[str, Any]] = field(default_factory=list)
    _profile: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> DevTools:
        self._profile = tempfile.TemporaryDirectory()
        commands_r, commands_w = os.pipe()
        replies_r, replies_w = os.pipe()

        def wire() -> None:  # in the child: Chromium reads commands on fd 3 and answers on fd 4
            # the pipe ends may themselves be 3 or 4: move them out of the way first
            read_end = fcntl.fcntl(commands_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(replies_w, fcntl.F_DUPFD, 10)
            for fd in (commands_r, commands_w, replies_r, replies_w):
                os.close(fd)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)
            os.close(read_end)
            os.close(write_end)

        args = [chromium(), *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        # close_fds would close 3 and 4 again after `wire`
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, preexec_fn=wire, close_fds=False)
        os.close(commands_r)
        os.close(replies_w)
        self._to_browser, self._from_browser = commands_w, replies_r
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=True)
        self.send("Emulation.setDeviceMetricsOverride", session=True, width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self.send("Browser.close")
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            if fd >= 0:
                os.close(fd)
        if self._profile is not None:
            self._profile.cleanup()

    # ------------------------------------------------------------------ protocol

    def send(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._event(reply)

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DevToolsError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise DevToolsError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    def _event(self, message: dict[str, Any]) -> None:
        method = message.get("method", "")
        params = message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.console.append(str(params.get("exceptionDetails", {}).get("text", "exception")))
        elif method == "Log.entryAdded":
            self.console.append(str(params.get("entry", {}).get("text", "")))
        self._events.append(message)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method:
                    del self._events[i]
                    return event
            self._event(self._read(deadline))

    # ------------------------------------------------------------------ page

    def open(self, path: Path, fragment: str = "") -> float:
        """Load the file; returns the seconds from the navigation to the first frame after the load event."""
        # from about:blank, so that the same file with another fragment is a new load, not a jump within it
        self.send("Page.navigate", session=True, url="about:blank")
        self.wait_for("Page.loadEventFired")
        self._events.clear()
        started = time.monotonic()
        self.send("Page.navigate", session=True, url=path.resolve().as_uri() + fragment)
        self.wait_for("Page.loadEventFired")
        # layout and paint of what the load produced: wait for the next animation frame
        self.evaluate("new Promise(function (r) { requestAnimationFrame(function () { setTimeout(r, 0); }); })")
        return time.monotonic() - started

    def evaluate(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", session=True, expression=expression, awaitPromise=True,
                          returnByValue=True)
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            raise DevToolsError(f"{details.get('text')}: {details.get('exception', {}).get('description', '')}")
        return reply.get("result", {}).get("value")

    def media(self, media: str) -> None:
        """'print' shows the page as printing lays it out (the print stylesheet); '' is the screen."""
        self.send("Emulation.setEmulatedMedia", session=True, media=media)

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size[0], "height": min(size[1], 16000), "scale": 1})
        data = self.send("Page.captureScreenshot", session=True, **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def pdf(self, path: Path) -> None:
        data = self.send("Page.printToPDF", session=True, printBackground=True, preferCSSPageSize=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def dom(self) -> str:
        value = self.evaluate("document.documentElement.outerHTML")
        return str(value)
