"""Debian's headless Chromium, driven from Python: the DOM after scripts ran, console messages, pictures."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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
