"""A wheel, not the checkout (issue 11 A14): `pip install .` must serve the bundled zones and give the examples."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel and installed (without dependencies) into a folder of its own."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
                            str(ROOT)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    wheel = next((work / "dist").glob("zonetool-*.whl"))
    target = work / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return target


def zonetool(site: Path, *args: str, cwd: Path) -> list[str]:
    """The installed copy's command line; the checkout is not on the path (cwd is elsewhere)."""
    code = f"import sys; sys.path.insert(0, {str(site)!r}); from zonetool.cli import main; main()"
    return [sys.executable, "-c", code, *args]


def test_the_wheel_serves_its_bundled_zones(installed: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(zonetool(installed, "serve", "--port", "0", "--quiet", cwd=tmp_path), cwd=tmp_path,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stderr is not None
        line = ""
        for _ in range(20):
            line = proc.stderr.readline()
            if "serving" in line:
                break
        match = re.search(r"serving 3 zone\(s\) \(example\.com\., .*\) on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        import dns.message
        import dns.query

        reply = dns.query.udp(dns.message.make_query("example.com", "MX"), "127.0.0.1", port=int(match.group(1)),
                              timeout=5)
        assert reply.answer
    finally:
        proc.terminate()
        proc.wait(15)
    assert "zonetool/bundled" in subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(installed)!r}); "
         "from zonetool.cli.serve import find_default_zones; print(find_default_zones())"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60).stdout


def test_the_wheel_copies_out_its_zones_and_examples(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run(zonetool(installed, "examples", "lab", cwd=tmp_path), cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for kind, folder in (("zones", ROOT / "zones"), ("examples", ROOT / "examples")):
        want = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".yaml", ".py", ".md")}
        got = {p.name: p.read_bytes() for p in (tmp_path / "lab" / kind).iterdir()}
        assert got == want, kind
    again = subprocess.run(zonetool(installed, "examples", "lab", cwd=tmp_path), cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 2 and "--force" in again.stderr
