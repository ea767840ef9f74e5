"""The benchmark's smoke mode runs end to end, so `python benchmarks/run.py` cannot rot.

It starts NSD, `zonetool serve` and dnslib's DNSServer under dnsperf, and times validate,
export and import against dnspython on a small generated zone. Only that every figure is
there and sane is checked: speed goals belong to the full benchmark, never to a test.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_mode_runs_end_to_end(tmp_path: Path) -> None:
    require_tool("dnsperf")
    require_tool("nsd")
    figures_file = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--json", str(figures_file)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "qps/NSD" in out and "vs dnspython" in out and "goals (issue 6):" in out
    figures = json.loads(figures_file.read_text())

    rows = {(r["server"], r["mode"]): r for r in figures["server"]}
    assert set(rows) == {("nsd", "udp"), ("nsd", "tcp"), ("zonetool", "udp"), ("zonetool", "tcp"),
                         ("zonetool --api", "udp"), ("dnslib DNSServer", "udp")}
    assert "UDP with --api:" in out
    for row in rows.values():  # every server really answered dnsperf
        assert row["qps"] > 0 and not math.isnan(row["qps"]), row
        assert row["cpu_us"] > 0, row

    (zones,) = figures["zones"]
    assert zones["records"] == 2000
    for step in ("validate", "export", "import", "dnspython"):
        seconds, peak_mib, code = zones[step]
        assert seconds > 0 and peak_mib > 0 and code == 0, (step, zones[step])

    assert set(figures["startup_s"]) == {"validate zones/example.com.yaml", "import (20 records)"}
    ((records, rss_mib),) = figures["serve_rss_mib"]
    assert records == 2000 and rss_mib > 0


def test_memory_benchmark_smoke_mode(tmp_path: Path) -> None:
    """benchmarks/memory.py --smoke: every figure there and sane (no speed or memory goal here)."""
    figures_file = tmp_path / "memory.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "memory.py"), "--smoke", "--json", str(figures_file)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "RSS/octet" in proc.stdout and "fmt / validate" in proc.stdout
    figures = json.loads(figures_file.read_text())
    assert [(r["command"]) for r in figures["rows"]] == ["validate", "import", "validate", "fmt"]
    for row in figures["rows"]:
        assert row["octets"] > 900_000 and row["seconds"] > 0 and row["rss"] > row["octets"] / 10
    assert 0 < figures["fmt_over_validate"] < 100


def test_signing_benchmark_smoke_mode(tmp_path: Path) -> None:
    """benchmarks/sign.py --smoke: zonetool and dnssec-signzone both signed, the ratio printed, dnssec-verify ok."""
    require_tool("dnssec-signzone")
    require_tool("dnssec-verify")
    figures_file = tmp_path / "sign.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "sign.py"), "--smoke", "--json", str(figures_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ratio" in proc.stdout and "dnssec-verify: ok" in proc.stdout
    rows = json.loads(figures_file.read_text())["sign"]
    assert [r["denial"] for r in rows] == ["nsec", "nsec3"]
    for row in rows:
        assert row["verified"] is True and row["ratio"] > 0 and row["records"] == 2000
    served = json.loads(figures_file.read_text())["serve_us"]
    assert "serving cached answers" in proc.stdout and "signed zone without DO" in proc.stdout
    assert all(served[k] > 0 for k in ("unsigned", "signed, no DO", "signed, DO"))
    resigned = json.loads(figures_file.read_text())["resign"]
    assert "full re-sign" in proc.stdout and "incremental" in proc.stdout
    for row in resigned:  # one A edited: the A and the SOA signed again, everything else kept
        assert row["rrsets signed"]["incremental"] == 2 and row["rrsets signed"]["full"] > 2000, row
        assert row["ratio"] > 0


def test_many_zones_benchmark_smoke_mode(tmp_path: Path) -> None:
    """`run.py --many-zones --smoke` (issue 11 part B, 200 zones): every goal line is printed with a
    verdict, against NSD started in the same run, and every zone answered both servers."""
    require_tool("nsd")
    require_tool("nsd-control")
    figures_file = tmp_path / "many.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--many-zones", "--smoke", "--json", str(figures_file)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "goals (issue 11 part B):" in out
    goal_lines = [line.strip() for line in out.splitlines() if line.strip().startswith(("MET ", "MISSED "))]
    for goal in ("(a) cold start until all 200 zones answer", "(a) warm start until all 200 zones answer",
                 "(b) one edited file visible, 200 zones",
                 "(b) not growing", "(c) RSS after 5 reloads", "(d) the serving line", "(e) export of 201 files",
                 "every zone answered by both servers, cold and warm"):
        assert sum(goal in line for line in goal_lines) == 1, (goal, out)
    for line in (x for x in goal_lines if "(a)" in x):
        assert line.split()[-1].endswith("x"), line  # a ratio to NSD
    figures = json.loads(figures_file.read_text())
    assert figures["zones"] == 200 and figures["tenth_zones"] == 20
    assert figures["zonetool_answering"] == figures["warm_answering"] == figures["nsd_answering"] == 201
    assert figures["warm_start_s"] and "0 read" in figures["warm_line"]  # the warm starts were warm
    assert len(figures["edit_s"]) == 5 and all(0 < s < 60 for s in figures["edit_s"])
    assert len(figures["nsd_edit_s"]) == 5 and all(0 < s < 60 for s in figures["nsd_edit_s"])
    assert figures["nsd_start_s"] and figures["zonetool_start_s"] and figures["rss_start_mib"] > 0
    assert "serving 201 zone(s)" in figures["start_line"] and "and 196 more" in figures["start_line"]
    assert figures["export_s"][0] > 0 and figures["validate_s"][0] > 0
