"""Many small zones, a provider's mail domains (issue 11 part B): zonetool against NSD in the same run.

    python benchmarks/run.py --many-zones               # 10,000 zones (a few minutes)
    python benchmarks/run.py --many-zones --zones 2000  # another size
    python benchmarks/run.py --many-zones --smoke       # 200 zones: seconds, run by the test suite

The zones: one provider zone (its name servers, exchangers and SPF record) and N customer zones of
11 records each (SOA, NS x2, A, AAAA, MX x2, SPF TXT including the provider's, DMARC TXT, SRV for
submission, a CNAME), as YAML files in one folder. NSD serves zonetool's own export of them.
Measured, each against its goal:
  (a) start until every zone answers (the last zone's SOA is polled; then every zone is checked),
      zonetool serve against NSD, median of a few starts, alternating: a cold start (`--no-cache`:
      every file read, compiled and judged, as NSD with `database: ""` parses every file) and a warm
      one (`--cache`: the snapshot of an earlier start, as NSD 3's nsd.db; primed by one start that is
      not counted); each also with one question to every zone right after (a warm start unpacks a
      zone's records on its first question);
  (b) one edited file visible in answers: a file is replaced (as editors and `zonetool record` do)
      and its apex A is polled until the new address answers, at N/10 zones and at N zones;
      NSD's figure is the same edit of its BIND file followed by `nsd-control reload ZONE`;
  (c) RSS after the start and after 20 such reloads (every zone asked once before each figure);
  (d) the length of the "serving ..." start line;
  (e) `zonetool export` of the N files against `zonetool validate` of them, median of a few runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from run import free_port, pyc_env, stop_group, tree_rss_kib, zonetool_cmd

PROVIDER = "provider.example"
SERIAL = 2026120201
SOA_LINE = ("soa: {primary: ns1.provider.example., contact: hostmaster@provider.example, serial: %d,"
            " refresh: 2h, retry: 30m, expire: 2w, negative: 5m}")
# (d) has no figure in the issue: "a short summary" is read as at most LINE characters and no longer at N
# than at N/10 but for the digits of the count (its five origins and the dig hint are fixed; 158,956 before)
EDGE_GOALS = {"start": 4.0, "edit_s": 0.5, "edit_growth": 1.5, "rss": 1.25, "line": 300, "export": 1.5}

PROVIDER_ZONE = f"""origin: {PROVIDER}
ttl: 1h
soa: {{primary: ns1, contact: hostmaster@{PROVIDER}, serial: {SERIAL}, refresh: 2h, retry: 30m, expire: 2w,
      negative: 5m}}
nameservers: [ns1, ns2]
records:
  "@": {{MX: ["10 mx1", "20 mx2"], TXT: "v=spf1 mx -all"}}
  _spf: {{TXT: "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip6:2001:db8:25::/48 -all"}}
  _dmarc: {{TXT: "v=DMARC1; p=reject"}}
  ns1: {{A: 192.0.2.53}}
  ns2: {{A: 198.51.100.53}}
  mx1: {{A: 192.0.2.25, AAAA: "2001:db8:25::25"}}
  mx2: {{A: 198.51.100.25}}
  mail: {{A: 192.0.2.26}}
"""


def origin(i: int) -> str:
    return f"c{i:05d}.example"


def address(i: int, version: int = 0) -> str:
    """The apex A of customer i; each edit moves its last octet (version 1, 2, ...)."""
    return f"10.{(i >> 8) & 255}.{i & 255}.{80 + version}"


def customer_zone(i: int, version: int = 0) -> str:
    name = origin(i)
    return "\n".join([
        f"origin: {name}",
        "ttl: 1h",
        SOA_LINE % (SERIAL + version),
        f"nameservers: [ns1.{PROVIDER}., ns2.{PROVIDER}.]",
        "records:",
        f'  "@": {{A: {address(i, version)}, AAAA: "2001:db8:{i:x}::80", '
        f'MX: ["10 mx1.{PROVIDER}.", "20 mx2.{PROVIDER}."], TXT: "v=spf1 include:_spf.{PROVIDER} -all"}}',
        f'  _dmarc: {{TXT: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{name}"}}',
        f'  _submission._tcp: {{SRV: "0 1 587 mail.{PROVIDER}."}}',
        '  www: {CNAME: "@"}',
        "",
    ])


def write_zones(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{PROVIDER}.yaml").write_text(PROVIDER_ZONE)
    for i in range(count):
        (folder / f"{origin(i)}.yaml").write_text(customer_zone(i))


def timed(cmd: list[str], work: Path) -> tuple[float, int]:
    """Wall seconds and exit code of one command; its output goes to a file (export says a line per
    zone on stderr, which would fill a pipe nobody reads)."""
    with (work / "command.err").open("wb") as err:
        t0 = time.perf_counter()
        code = subprocess.run(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=err, env=pyc_env()).returncode
        elapsed = time.perf_counter() - t0
    if code not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {(work / 'command.err').read_text()[-400:]}")
    return elapsed, code


def replace_file(path: Path, text: str) -> None:
    """Write as an editor or `zonetool record` does: a new file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# asking
# ---------------------------------------------------------------------------
SOA, A = 6, 1


def question(name: str, qtype: int, qid: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + labels + b"\x00" + struct.pack("!HH", qtype, 1)


def authoritative(reply: bytes) -> bool:
    """NOERROR with AA and at least one answer."""
    return len(reply) >= 12 and reply[3] & 0x0F == 0 and bool(reply[2] & 0x04) and reply[6:8] != b"\0\0"


def ask(sock: socket.socket, port: int, name: str, qtype: int, qid: int = 1, wait: float = 0.2) -> bytes:
    sock.settimeout(wait)
    try:
        sock.sendto(question(name, qtype, qid), ("127.0.0.1", port))
        while True:
            data = sock.recv(4096)
            if data[:2] == struct.pack("!H", qid):
                return data
    except OSError:
        return b""


def poll(port: int, name: str, qtype: int, ok: Callable[[bytes], bool], timeout: float) -> float:
    """Ask until `ok(reply)`; the monotonic time it first held. Raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    qid = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        while time.monotonic() < deadline:
            qid = (qid + 1) & 0xFFFF
            reply = ask(sock, port, name, qtype, qid, wait=0.05)
            if reply and ok(reply):
                return time.monotonic()
            if reply:
                time.sleep(0.002)
    raise RuntimeError(f"{name}: no wanted answer on port {port} within {timeout} s")


def all_answer(port: int, names: list[str]) -> int:
    """How many of `names` answer their SOA authoritatively (200 questions in flight, 3 tries each)."""
    todo = {qid: name for qid, name in enumerate(names)}
    good = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        for _ in range(3):
            pending = list(todo)
            for start in range(0, len(pending), 200):
                batch = {q: todo[q] for q in pending[start:start + 200]}
                for qid, name in batch.items():
                    sock.sendto(question(name, SOA, qid), ("127.0.0.1", port))
                sock.settimeout(0.5)
                while batch:
                    try:
                        data = sock.recv(4096)
                    except OSError:
                        break
                    qid = struct.unpack("!H", data[:2])[0]
                    if qid in batch and authoritative(data):
                        del batch[qid]
                        del todo[qid]
                        good += 1
            if not todo:
                break
    return good


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------
@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    port: int
    seconds: float  # from the start of the process until the last zone answered

    def stop(self) -> None:
        stop_group(self.proc, 20)


def launch(cmd: list[str], port: int, last: str, stderr: Path, timeout: float) -> Running:
    with stderr.open("wb") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, env=pyc_env())
    running = Running(proc, port, 0.0)
    try:
        running.seconds = poll(port, last, SOA, authoritative, timeout) - t0
    except BaseException:
        running.stop()
        raise
    return running


def sweep(running: Running, names: list[str]) -> tuple[float, int]:
    """(seconds from the start until every zone has also answered one question, how many answered)."""
    t0 = time.monotonic()
    good = all_answer(running.port, names)
    return running.seconds + time.monotonic() - t0, good


def nsd_conf(work: Path, exported: Path, origins: list[str], port: int, database: str = "") -> Path:
    """NSD serving the exported files; `database` "" parses every file at start (as a cold start
    does), a path is NSD 4.6's default: start from the compiled zones of its last run (nsd.db)."""
    conf = work / "nsd.conf"
    zones = "".join(f'zone:\n    name: {o}\n    zonefile: "{exported}/{o}.zone"\n' for o in origins)
    conf.write_text(f"""server:
    ip-address: 127.0.0.1@{port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{work}"
    database: "{database}"
    zonelistfile: "{work}/zone.list"
    xfrdfile: "{work}/xfrd.state"
    pidfile: "{work}/nsd.pid"
    logfile: "{work}/nsd.log"
    verbosity: 0
    hide-version: yes
    rrl-ratelimit: 0
remote-control:
    control-enable: yes
    control-interface: "{work}/nsd.ctl"
{zones}""")
    return conf


def wait_line(stderr: Path, text: str, timeout: float) -> str:
    """The first line of `stderr` holding `text`, waited for."""
    deadline = time.monotonic() + timeout
    while True:
        line = next((x for x in stderr.read_text().splitlines() if text in x), "")
        if line:
            return line
        if time.monotonic() > deadline:
            raise RuntimeError(f"no line with {text!r} in {stderr} within {timeout} s")
        time.sleep(0.05)


def serving_line(stderr: Path, timeout: float = 30.0) -> str:
    """The start line; waited for, since UDP may answer a moment before the line is printed."""
    deadline = time.monotonic() + timeout
    while True:
        line = next((x for x in stderr.read_text().splitlines() if "serving " in x), "")
        if line or time.monotonic() > deadline:
            return line
        time.sleep(0.05)


def nsd_binary(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------
def edit_latency(port: int, folder: Path, indexes: list[int], rebuild: Callable[[int, int], Path] | None = None,
                 after: Callable[[Path, int], None] | None = None) -> list[float]:
    """Seconds from replacing each file (one edit per index) until its new address answers."""
    out = []
    for k, i in enumerate(indexes):
        version = k + 1
        wanted = socket.inet_aton(address(i, version))
        if rebuild is None:
            path = folder / f"{origin(i)}.yaml"
            text = customer_zone(i, version)
        else:
            path = rebuild(i, version)
            text = path.read_text()
            path = folder / path.name
        t0 = time.monotonic()
        replace_file(path, text)
        if after is not None:
            after(path, i)
        seen = poll(port, origin(i), A, lambda reply, w=wanted: w in reply[12:], timeout=120)
        out.append(seen - t0)
    return out


def spread(count: int, total: int) -> list[int]:
    """`count` customer indexes spread over the zones, each edited once."""
    return [(k * 7919 + total // 3) % total for k in range(count)]


def run(work: Path, n: int, runs: int, reloads: int) -> dict[str, object]:
    zt = zonetool_cmd()
    full, tenth, exported = work / "zones", work / "zones-tenth", work / "nsd-zones"
    write_zones(full, n)
    write_zones(tenth, max(n // 10, 1))
    names = [PROVIDER, *(origin(i) for i in range(n))]
    last = origin(n - 1)
    figures: dict[str, object] = {"zones": n, "files": n + 1, "records_per_zone": 11}

    # (e) export against validate, alternating; the last export is what NSD serves. Each export
    # writes a folder of its own, all removed after the last: removing 10,001 files just before
    # an export made each of its creates scan those inodes (ext4 without a journal skips inodes
    # deleted in the last minutes, kernel recently_deleted(); perf: ~0.3 ms a create here), a cost
    # of the benchmark's clean-up, not of the export.
    validate_s, export_s = [], []
    folders = [work / f"export-{r}" for r in range(runs)]
    for folder in folders:
        sec, code = timed([*zt, "validate", str(full)], work)
        if code:
            raise RuntimeError("the generated zones have errors")
        validate_s.append(sec)
        export_s.append(timed([*zt, "export", str(full), "-o", f"{folder}/"], work)[0])
    for folder in folders[:-1]:
        shutil.rmtree(folder)
    folders[-1].rename(exported)
    figures["validate_s"], figures["export_s"] = validate_s, export_s
    if len(list(exported.glob("*.zone"))) != n + 1:
        raise RuntimeError(f"export wrote {len(list(exported.glob('*.zone')))} files, not {n + 1}")

    nsd, control = nsd_binary("nsd"), nsd_binary("nsd-control")
    timeout = max(120.0, n / 20)
    cache = work / "cache"
    warm_cmd = [*zt, "serve", str(full), "--quiet", "--cache", str(cache)]
    port = free_port()  # the snapshot the warm starts read: written by a start that is not counted
    primer = launch([*warm_cmd, "--port", str(port)], port, last, work / "primer.err", timeout)
    try:
        wait_line(work / "primer.err", "written to ", timeout)
    finally:
        primer.stop()
    zt_start, nsd_start, warm_start, nsd_db_start = [], [], [], []
    nsd_db = work / "nsd.db"  # NSD's own snapshot, the like of --cache: written by a start that is not counted
    zt_all, nsd_all, warm_all = [], [], []
    for r in range(runs):
        final = r == runs - 1
        if nsd:
            port = free_port()
            conf = nsd_conf(work, exported, names, port)
            server = launch([nsd, "-d", "-c", str(conf)], port, last, work / "nsd.err", timeout)
            try:
                nsd_start.append(server.seconds)
                seconds, good = sweep(server, names)
                figures["nsd_answering"] = min(good, figures.get("nsd_answering", good))  # type: ignore[call-overload]
                nsd_all.append(seconds)
                if final:
                    figures["nsd_rss_mib"] = tree_rss_kib(server.proc.pid) / 1024
                    if control:
                        def reload(path: Path, i: int, conf: Path = conf) -> None:
                            subprocess.run([control, "-c", str(conf), "reload", origin(i)], check=True,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

                        def rebuild(i: int, version: int) -> Path:
                            text = (exported / f"{origin(i)}.zone").read_text()
                            text = text.replace(address(i), address(i, version), 1)  # the exported file: version 0
                            text = text.replace(str(SERIAL), str(SERIAL + version), 1)
                            out = work / f"{origin(i)}.zone"
                            out.write_text(text)
                            return out

                        figures["nsd_edit_s"] = edit_latency(port, exported, spread(min(reloads, 5), n),
                                                             rebuild, reload)
            finally:
                server.stop()
            if r == 0:
                port = free_port()
                launch([nsd, "-d", "-c", str(nsd_conf(work, exported, names, port, str(nsd_db)))], port, last,
                       work / "nsd.err", timeout).stop()
            port = free_port()
            server = launch([nsd, "-d", "-c", str(nsd_conf(work, exported, names, port, str(nsd_db)))], port, last,
                            work / "nsd.err", timeout)
            nsd_db_start.append(server.seconds)
            server.stop()
        port = free_port()
        err = work / "warm.err"
        server = launch([*warm_cmd, "--port", str(port)], port, last, err, timeout)
        try:
            warm_start.append(server.seconds)
            seconds, good = sweep(server, names)
            figures["warm_answering"] = min(good, figures.get("warm_answering", good))  # type: ignore[call-overload]
            warm_all.append(seconds)
            said = err.read_text()
            if "warm start from" not in said or "starting cold" in said:
                raise RuntimeError(f"the warm start was not warm: {said[-400:]}")
            figures["warm_line"] = next(x for x in said.splitlines() if "warm start from" in x)
        finally:
            server.stop()
        port = free_port()
        err = work / "zonetool.err"
        server = launch([*zt, "serve", str(full), "--port", str(port), "--quiet", "--no-cache"], port, last, err,
                        timeout)
        try:
            zt_start.append(server.seconds)
            seconds, good = sweep(server, names)
            figures["zonetool_answering"] = min(good, figures.get("zonetool_answering", good))  # type: ignore[call-overload]
            zt_all.append(seconds)
            if final:
                figures["start_line"] = serving_line(err)
                figures["rss_start_mib"] = tree_rss_kib(server.proc.pid) / 1024
                indexes = spread(reloads, n)
                figures["edit_s"] = edit_latency(port, full, indexes)
                all_answer(port, names)  # the same state as the first figure: every zone asked once
                figures["rss_reloads_mib"] = tree_rss_kib(server.proc.pid) / 1024
                figures["reloads"] = reloads
        finally:
            server.stop()
        for i in (spread(reloads, n) if final else []):  # back to version 0 for a later run
            (full / f"{origin(i)}.yaml").write_text(customer_zone(i))
    figures["zonetool_start_s"], figures["nsd_start_s"], figures["warm_start_s"] = zt_start, nsd_start, warm_start
    figures["nsd_db_start_s"] = nsd_db_start
    figures["zonetool_all_s"], figures["nsd_all_s"], figures["warm_all_s"] = zt_all, nsd_all, warm_all

    # (b) at N/10: the same edits, fewer zones
    small = max(n // 10, 1)
    port = free_port()
    server = launch([*zt, "serve", str(tenth), "--port", str(port), "--quiet", "--no-cache"], port, origin(small - 1),
                    work / "tenth.err", timeout)
    try:
        figures["tenth_start_s"] = server.seconds
        figures["tenth_start_line"] = serving_line(work / "tenth.err")
        figures["tenth_edit_s"] = edit_latency(port, tenth, spread(min(reloads, 5), small))
    finally:
        server.stop()
    figures["tenth_zones"] = small
    return figures


def goals(figures: dict[str, object]) -> list[tuple[str, str, bool]]:
    """(goal, measured, met) for each goal of issue 11 part B."""
    med = statistics.median
    n = figures["zones"]
    out: list[tuple[str, str, bool]] = []
    nsd_start = figures["nsd_start_s"]
    for kind, key in (("cold", "zonetool_start_s"), ("warm", "warm_start_s")):
        what = f"(a) {kind} start until all {n:,} zones answer <= {EDGE_GOALS['start']:g}x NSD"
        if nsd_start:
            ratio = med(figures[key]) / med(nsd_start)  # type: ignore[arg-type]
            out.append((what, f"{ratio:.2f}x", ratio <= EDGE_GOALS["start"]))
        else:
            out.append((what, "no NSD", False))
    edit, tenth = med(figures["edit_s"]), med(figures["tenth_edit_s"])  # type: ignore[arg-type]
    out.append((f"(b) one edited file visible, {n:,} zones <= {EDGE_GOALS['edit_s']:g} s", f"{edit:.3f} s",
                edit <= EDGE_GOALS["edit_s"]))
    growth = edit / tenth
    out.append((f"(b) not growing: {n:,} zones / {figures['tenth_zones']:,} <= {EDGE_GOALS['edit_growth']:g}x",
                f"{growth:.2f}x", growth <= EDGE_GOALS["edit_growth"]))
    rss = figures["rss_reloads_mib"] / figures["rss_start_mib"]  # type: ignore[operator]
    out.append((f"(c) RSS after {figures['reloads']} reloads <= {EDGE_GOALS['rss']:g}x after start",
                f"{rss:.2f}x", rss <= EDGE_GOALS["rss"]))
    length, small = len(figures["start_line"]), len(figures["tenth_start_line"])  # type: ignore[arg-type]
    out.append((f"(d) the serving line <= {EDGE_GOALS['line']} chars, as at N/10", f"{length} / {small}",
                0 < length <= EDGE_GOALS["line"] and length <= small + 2 * len(str(n))))
    export = med(figures["export_s"]) / med(figures["validate_s"])  # type: ignore[arg-type]
    out.append((f"(e) export of {n + 1:,} files <= {EDGE_GOALS['export']:g}x validate", f"{export:.2f}x",
                export <= EDGE_GOALS["export"]))
    every = (figures["zonetool_answering"] == figures["warm_answering"] == n + 1
             and figures.get("nsd_answering", n + 1) == n + 1)
    out.append(("every zone answered by both servers, cold and warm",
                f"{min(figures['zonetool_answering'], figures['warm_answering'])}/{n + 1}", every))
    return out


def report(figures: dict[str, object]) -> None:
    med = statistics.median
    n = figures["zones"]

    def secs(key: str) -> str:
        values = figures.get(key) or []
        return f"{med(values):.3f} s" if values else "-"  # type: ignore[arg-type]

    print(f"\nmany zones: {n:,} customer zones + 1 provider zone, {figures['records_per_zone']} records each; "
          f"medians of {len(figures['zonetool_start_s'])} runs")  # type: ignore[arg-type]
    print(f"{'measure':<44}{'zonetool':>14}{'NSD':>14}")
    nsd_rss = figures.get("nsd_rss_mib")
    rows = [
        ("cold start until every zone answers", secs("zonetool_start_s"), secs("nsd_start_s")),
        ("warm start (--cache) until every zone answers", secs("warm_start_s"), secs("nsd_start_s")),
        ("NSD from its database (nsd.db, its default)", "", secs("nsd_db_start_s")),
        ("cold start + one question to every zone", secs("zonetool_all_s"), secs("nsd_all_s")),
        ("warm start + one question to every zone", secs("warm_all_s"), secs("nsd_all_s")),
        (f"one edit visible, {n:,} zones", secs("edit_s"), secs("nsd_edit_s")),
        (f"one edit visible, {figures['tenth_zones']:,} zones", secs("tenth_edit_s"), ""),
        (f"RSS after start -> after {figures['reloads']} reloads",
         f"{figures['rss_start_mib']:.0f} -> {figures['rss_reloads_mib']:.0f} MiB",
         f"{nsd_rss:.0f} MiB" if nsd_rss else "-"),
        ("the serving line", f"{len(figures['start_line'])} chars", ""),  # type: ignore[arg-type]
        (f"start until every zone answers, {figures['tenth_zones']:,} zones", f"{figures['tenth_start_s']:.3f} s", ""),
        (f"validate of the {n + 1:,} files", secs("validate_s"), ""),
        (f"export of the {n + 1:,} files", secs("export_s"), ""),
    ]
    for label, ours, theirs in rows:
        print(f"{label:<44}{ours:>14}{theirs:>14}")
    print("(NSD's edit: the file replaced, then `nsd-control reload ZONE`; zonetool's: the file replaced)")
    print(f"start line: {figures['start_line']}")
    print(f"warm start: {figures['warm_line']}")
    if figures.get("nsd_all_s"):
        ratios = ", ".join(f"{kind} {med(figures[key]) / med(figures['nsd_all_s']):.2f}x"  # type: ignore[arg-type]
                           for kind, key in (("cold", "zonetool_all_s"), ("warm", "warm_all_s")))
        print(f"start + one question to every zone, against NSD's: {ratios} (no goal; the client is Python)")
    if figures.get("nsd_db_start_s"):
        db, text = med(figures["nsd_db_start_s"]), med(figures["nsd_start_s"])  # type: ignore[arg-type]
        warm, cold = med(figures["warm_start_s"]), med(figures["zonetool_start_s"])  # type: ignore[arg-type]
        print(f"like with like: warm against NSD from nsd.db {warm / db:.2f}x, "
              f"cold against NSD parsing every file {cold / text:.2f}x"
              " (the goal lines below compare both with NSD parsing every file, as issue 11 did)")
    print("\ngoals (issue 11 part B):")
    for text, value, ok in goals(figures):
        print(f"  {'MET   ' if ok else 'MISSED'}  {text:<58}{value:>12}")


def main(work: Path, n: int, smoke: bool) -> dict[str, object]:
    if not nsd_binary("nsd"):
        print("nsd is missing: apt-get install nsd (the baseline)", file=sys.stderr)
    runs, reloads = (1, 5) if smoke else (3, 20)
    figures = run(work, n, runs, reloads)
    report(figures)
    return figures
