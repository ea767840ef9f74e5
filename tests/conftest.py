"""Shared test helpers: real external tools, never silently skipped in CI."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
ZONES = ROOT / "zones"
DATA = Path(__file__).resolve().parent / "data"
# A small valid mail zone: no finding at all (tests derive broken or silenced variants from it).
MAIL_ZONE = """\
origin: example.com
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.25]}
records:
  "@": {TXT: "v=spf1 mx -all"}
  _dmarc: {TXT: "v=DMARC1; p=reject"}
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""


@pytest.fixture(autouse=True, scope="session")
def _own_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`zonetool serve` keeps snapshots under $XDG_CACHE_HOME (serve --cache): the tests' go to a
    folder of their own, never into the home of whoever runs them."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


def require_tool(name: str) -> str:
    """Path of an external tool; skip locally if missing, fail when CI demands tools."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path:
        return path
    missing(f"{name} not installed")


def missing(reason: str) -> NoReturn:
    """A tool or package a test needs is absent: skip locally, fail when CI demands tools."""
    if os.environ.get("ZONETOOL_REQUIRE_TOOLS"):
        pytest.fail(f"{reason} (ZONETOOL_REQUIRE_TOOLS is set, so this is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def named_checkzone() -> str:
    return require_tool("named-checkzone")


@pytest.fixture(scope="session")
def named_compilezone() -> str:
    return require_tool("named-compilezone")


@pytest.fixture(scope="session")
def dig() -> str:
    return require_tool("dig")


def zonetool_exe() -> str:
    """The `zonetool` script of the interpreter running the tests (not whatever is first on PATH)."""
    beside = Path(sys.executable).with_name("zonetool")
    if beside.exists():
        return str(beside)
    found = shutil.which("zonetool")
    if found is None:
        pytest.fail("the zonetool command is not installed (pip install -e .)")
    return found


def names_to_ask(zones: list, nxdomains: int = 3) -> set[str]:  # type: ignore[type-arg]
    """Question names that reach every answer rule of `zones`: each owner, a random name below it
    (or beside it, for a wildcard), each empty non-terminal, and names that do not exist."""
    from zonetool.names import Name

    names: set[str] = set()
    for z in zones:
        for owner in z.nodes:
            names.add(owner.to_text())
            names.add(Name(owner.labels[1:] if owner.is_wildcard() else (b"r4nd", *owner.labels)).to_text())
        names.update(str(n) for n in z.ents)
        names.update(f"nx{i}.{z.origin}" for i in range(nxdomains))
    return names


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pid of every child `zonetool.forked.start` makes during the test (so a test can say it forked)."""
    from zonetool import forked

    real_start = forked.start
    pids: list[int] = []

    def start(work):  # type: ignore[no-untyped-def]
        child = real_start(work)
        if child is not None:
            pids.append(child.pid)
        return child

    monkeypatch.setattr(forked, "start", start)
    return pids


@pytest.fixture
def procs() -> Iterator[list[Any]]:
    """Server processes a test starts (anything with `stop()`); each one is stopped after the test."""
    started: list[Any] = []
    yield started
    for p in started:
        p.stop()


def read_events(response: Any, done: Callable[[str], bool]) -> tuple[threading.Thread, list[str]]:
    """Read a server-sent event stream in a thread until a line satisfies `done`; wait for `event: ready`."""
    lines: list[str] = []

    def read() -> None:
        for raw in response:
            lines.append(raw.decode().rstrip("\n"))
            if done(lines[-1]):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while "event: ready" not in lines and time.monotonic() < deadline:
        time.sleep(0.02)
    return reader, lines


def http_call(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """One request to the HTTP control API with a real client (urllib): (status, decoded JSON or None)."""
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None
