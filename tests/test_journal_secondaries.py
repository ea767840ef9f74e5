"""`serve --journal` with real secondaries (issue 13, 2): an IXFR across a zonetool restart.

Knot or BIND `named` transfers version 1 and is stopped; the zone is edited (zonetool keeps the
delta in its journal) and zonetool is restarted. The secondary, started again with version 1 on
its disk, asks IXFR from serial 1 and gets the delta the journal kept (a few records, not the
5,000 hosts), and ends up with zonetool's content.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from secondaries import bind_conf, knot_conf, launch
from test_server_cli import Serve, dig_short, start
from test_server_secondary import free_port, primaries, processes, wait_until  # noqa: F401 (fixtures)
from test_tsig_secondaries import answers, zone_text

from zonetool.atomic import write_atomic

KINDS = {"knot": knot_conf, "bind": bind_conf}


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_secondary_gets_an_incremental_transfer_across_a_zonetool_restart(
    kind: str, dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    zone, journal = tmp_path / "example.com.yaml", tmp_path / "journal"
    write_atomic(zone, zone_text(1, 5000))
    port, zport = free_port(), free_port()

    def serve() -> Serve:
        return start(primaries, str(zone), "--allow-transfer", "127.0.0.1", "--journal", str(journal),
                     "--notify", f"127.0.0.1:{port}", port=str(zport))

    first = serve()
    cmd = KINDS[kind](tmp_path, port, zport)
    launch(cmd, tmp_path, processes)
    assert wait_until(lambda: "mx-1-a.example.com." in dig_short(dig, port, "MX", "example.com"), timeout=60)
    serial = dig_short(dig, port, "SOA", "example.com").split()[2]
    if kind == "bind":  # named writes its copy a moment after the transfer
        assert wait_until(lambda: (tmp_path / "example.com.db").exists(), timeout=30)
    stop(processes.pop())

    write_atomic(zone, zone_text(2, 5000))  # two exchangers and a TXT change while the secondary is down
    first.wait_err(r"reloaded .*example\.com\. serial", timeout=30)
    first.stop()
    launch(cmd, tmp_path, processes)  # version 1 on its disk
    second = serve()  # a new process, whose NOTIFY at start makes the secondary ask IXFR from version 1
    assert dig_short(dig, second.port, "SOA", "example.com").split()[2] != serial
    assert wait_until(lambda: "mx-2-a.example.com." in dig_short(dig, port, "MX", "example.com"), timeout=90), \
        f"{kind} did not follow:\n{(tmp_path / 'secondary.log').read_text()[-3000:]}"
    assert answers(dig, port, 2)[:4] == answers(dig, second.port, 2)[:4]
    assert dig_short(dig, port, "A", "mx-1-a.example.com") == ""  # the removed records went
    out = "\n".join(second.out_lines(400, timeout=5))
    ixfrs = [int(n) for n in re.findall(r"tcp example\.com\. IXFR NOERROR answers=(\d+)", out)]
    assert ixfrs and max(ixfrs) < 100, out[-2000:]  # the journal's delta, not the 5,000 records
