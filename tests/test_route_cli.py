"""`zonetool route` from the command line: --zone reads YAML, --server asks a really started `zonetool serve`."""

from __future__ import annotations

import json
import re
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import zonetool_exe
from typer.testing import CliRunner

from zonetool.cli import app

EXAMPLE = """
origin: example.com
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, weight: 3, port: 2525, addresses: [192.0.2.10, "2001:db8::10"]}
    - {host: mx2, priority: 10, weight: 1, addresses: [192.0.2.11]}
    - {host: backup, priority: 20, addresses: [192.0.2.12]}
  srv: true
  imap: false
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  "@": {A: 192.0.2.1}
"""
NULL = """
origin: null.example
nameservers: [ns1, ns2]
mail: {null: true}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  "@": {A: 192.0.2.2}
"""
BROKEN = """
origin: broken.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.10]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  "@": {A: 192.0.2.3}
faults:
  - {name: "@", type: MX, action: servfail}
"""


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("route-zones")
    (d / "example.com.yaml").write_text(EXAMPLE)
    (d / "null.example.yaml").write_text(NULL)
    (d / "broken.example.yaml").write_text(BROKEN)
    return d


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["route", *args])
    return result.exit_code, result.stdout, result.stderr


def test_text_plan_from_zone(zones: Path) -> None:
    code, out, _ = run("user@example.com", "--zone", str(zones))
    assert code == 0
    assert out.splitlines()[0].startswith("example.com. MX: deliver")
    assert "preference 10: (random order, RFC 5321 5.1)" in out
    assert re.search(r"1\. mx1\.example\.com\. port 25\s+2001:db8::10, 192\.0\.2\.10", out)
    assert re.search(r"2\. backup\.example\.com\. port 25\s+192\.0\.2\.12", out)
    assert "mx-equal-preference" in out and "mx-backup" in out


def test_json_plan_from_zone(zones: Path) -> None:
    code, out, _ = run("example.com", "--zone", str(zones / "example.com.yaml"), "--format", "json")
    assert code == 0
    plan = json.loads(out)
    assert plan["outcome"] == "deliver" and plan["mode"] == "mx"
    assert [[t["host"] for t in g["targets"]] for g in plan["groups"]] == [
        ["mx1.example.com.", "mx2.example.com."],
        ["backup.example.com."],
    ]
    assert "try the hosts group by group" in plan["explanation"]


def test_null_mx_and_declared_fault_explained(zones: Path) -> None:
    code, out, _ = run("user@null.example", "--zone", str(zones))
    assert code == 0 and "does not accept mail (null MX)" in out and "556 5.1.10" in out
    code, out, _ = run("user@broken.example", "--zone", str(zones))
    assert code == 0 and "temporary failure" in out and "SERVFAIL" in out
    assert "implicit" not in out.split("notes:")[0]


def test_srv_mode_ports_and_not_offered(zones: Path) -> None:
    code, out, _ = run("example.com", "--zone", str(zones), "--service", "smtp", "--format", "json")
    assert code == 0
    plan = json.loads(out)
    assert plan["mode"] == "srv" and plan["owner"] == "_smtp._tcp.example.com."
    assert {t["host"]: t["port"] for g in plan["groups"] for t in g["targets"]}["mx1.example.com."] == 2525
    code, out, _ = run("example.com", "--zone", str(zones), "--service", "imap")
    assert code == 0 and "service not offered" in out


def test_samples_with_seed_are_reproducible(zones: Path) -> None:
    args = ("example.com", "--zone", str(zones), "--service", "smtp", "--samples", "4000", "--seed", "7")
    first = run(*args)
    assert first == run(*args)
    assert "4000 drawn plans (seed 7)" in first[1]
    assert re.search(r"mx1\.example\.com\.\s+\d+\s+7\d\.\d%\s+75\.0%", first[1])
    code, out, _ = run(*args, "--format", "json")
    assert code == 0
    samples = json.loads(out)["samples"]
    assert samples["seed"] == 7 and sum(h["first"] for h in samples["hosts"]) == 4000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x@example.com"], "--zone PATH"),
        (["x@example.com", "--zone", "/nonexistent/zones"], "no such file"),
        (["x@example.com", "--server", "nonsense:port"], "HOST:PORT"),
        (["x@example.com", "--server", "127.0.0.1:53", "--zone", "z"], "one of the two"),
        (["x@example.com", "--server", "127.0.0.1:53", "--format", "xml"], "--format"),
        (["x@example.com", "--server", "127.0.0.1:53", "--service", "gopher"], "--service"),
        (["x@", "--server", "127.0.0.1:53"], "no domain part"),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2 and message in err and "Traceback" not in err + out


def test_zone_with_errors_exits_1_with_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("origin: bad.example\nmail:\n  exchangers:\n    - {host: mx1}\n")
    code, _, err = run("bad.example", "--zone", str(bad))
    assert code == 1 and re.search(r"bad\.yaml:\d+:\d+: error", err)


# ---------------------------------------------------------------------------
# --server: a real `zonetool serve` process
# ---------------------------------------------------------------------------
def zonetool_binary() -> str:
    return zonetool_exe()


@pytest.fixture(scope="module")
def server(zones: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [zonetool_binary(), "serve", str(zones), "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield _listening(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _listening(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.5)[0]:
            line = proc.stderr.readline()
            seen.append(line)
            m = re.search(r" on (\S+:\d+) ", line)
            if m:
                return m.group(1)
            if not line and proc.poll() is not None:
                break
    pytest.fail("zonetool serve did not start:\n" + "".join(seen))


def comparable(plan: dict) -> dict:  # type: ignore[type-arg]
    """What must be the same whichever way the zones were read (the notes name files or not)."""
    return {k: plan[k] for k in ("domain", "mode", "outcome", "implicit", "groups")}


@pytest.mark.parametrize(
    ("address", "extra"),
    [
        ("user@example.com", []),
        ("example.com", ["--service", "smtp"]),
        ("example.com", ["--service", "imap"]),
        ("user@null.example", []),
        ("user@broken.example", []),
        ("user@nowhere.example.com", []),
    ],
)
def test_server_gives_the_same_plan_as_the_zone_files(zones: Path, server: str, address: str, extra: list[str]) -> None:
    code, over_wire, err = run(address, "--server", server, "--format", "json", *extra)
    assert code == 0, err
    code, from_files, err = run(address, "--zone", str(zones), "--format", "json", *extra)
    assert code == 0, err
    assert comparable(json.loads(over_wire)) == comparable(json.loads(from_files))


def test_server_text_output_and_no_answer(server: str) -> None:
    code, out, _ = run("user@example.com", "--server", server)
    assert code == 0 and "1. mx1.example.com. port 25" in out
    # a server that is not there: no answer is a temporary failure, never "no MX"
    code, out, _ = run("user@example.com", "--server", "127.0.0.1:9", "--timeout", "0.3", "--format", "json")
    plan = json.loads(out)
    assert plan["outcome"] == "defer" and plan["groups"] == []


# ---------------------------------------------------------------------------
# --samples: the weighted draw matches the weights (chi-square, fixed seed)
# ---------------------------------------------------------------------------
WEIGHTS = """
origin: weights.example
nameservers: [ns1, ns2]
services:
  - name: _smtp._tcp
    targets:
      - {host: a, port: 25, priority: 10, weight: 60, addresses: [192.0.2.1]}
      - {host: b, port: 25, priority: 10, weight: 30, addresses: [192.0.2.2]}
      - {host: c, port: 25, priority: 10, weight: 10, addresses: [192.0.2.3]}
      - {host: z, port: 25, priority: 10, weight: 0, addresses: [192.0.2.4]}
      - {host: later, port: 25, priority: 20, weight: 100, addresses: [192.0.2.5]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""


def test_samples_distribution_matches_weights_chi_square(tmp_path: Path) -> None:
    (tmp_path / "weights.example.yaml").write_text(WEIGHTS)
    code, out, err = run(
        "weights.example", "--zone", str(tmp_path), "--service", "smtp", "--samples", "20000", "--seed", "2782",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    hosts = {h["host"]: h for h in json.loads(out)["samples"]["hosts"]}
    assert {h: v["expected_share"] for h, v in hosts.items()} == {
        "a.weights.example.": 0.6,
        "b.weights.example.": 0.3,
        "c.weights.example.": 0.1,
        "z.weights.example.": 0.0,
    }
    observed = {h: v["first"] for h, v in hosts.items()}
    assert observed["z.weights.example."] == 0 and sum(observed.values()) == 20000
    # Pearson's chi-square over the weighted hosts, 2 degrees of freedom: below the 0.1% point 13.816
    stat = sum((observed[h] - 20000 * v["expected_share"]) ** 2 / (20000 * v["expected_share"])
               for h, v in hosts.items() if v["expected_share"])  # fmt: skip
    assert stat < 13.816
    assert json.loads(out)["samples"]["chi_square"] == pytest.approx(stat)
    # the same counts against equal shares (weights ignored) are rejected: the test has power
    uniform = sum((observed[h] - 20000 / 3) ** 2 / (20000 / 3) for h in observed if h != "z.weights.example.")
    assert uniform > 1000
