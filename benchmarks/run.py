"""zonetool's benchmark: every figure is a ratio against a baseline measured in the same run.

Server: NSD, `zonetool serve` and dnslib's stock threaded DNSServer serve the same zone in turn
(alternating, several rounds), each pinned to core 0 while dnsperf runs on core 1; we report
queries/s, lost queries, latency, server CPU per query, and ratios to NSD.
Big zones: `zonetool validate/export/import` against dnspython's parse + write of the same zone,
with peak RSS, at several sizes so that the time per record can be seen not to grow.

    python benchmarks/run.py            # the full run (minutes)
    python benchmarks/run.py --smoke    # a few seconds, run by the test suite so it cannot rot
    python benchmarks/run.py --many-zones [--zones N] [--smoke]   # 10,000 small zones against NSD (manyzones.py)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import genzone  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
TWO_CORES = (os.cpu_count() or 1) >= 2


def zonetool_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("zonetool")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "zonetool"]


def machine() -> str:
    """CPU model, cores and Python: the figures are ratios, but the README quotes where they came from."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {os.uname().machine}, Python {sys.version.split()[0]}"


def pinned(cmd: list[str], core: int) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(core), *cmd] if taskset and TWO_CORES else cmd


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


def query_packet(name: str, qtype: int = 1, qid: int = 4242) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + labels + b"\x00" + struct.pack("!HH", qtype, 1)


def wait_ready(port: int, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                s.sendto(query_packet(name), ("127.0.0.1", port))
                if s.recv(4096):
                    return
            except OSError:
                pass
    raise RuntimeError(f"server on port {port} did not answer within {timeout}s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def tree_cpu(pid: int) -> float:
    """CPU of a process plus its live children (NSD forks its serving process)."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            total += cpu_seconds(p)
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return total


def tree_rss_kib(pid: int) -> int:
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            todo.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
        except (OSError, AttributeError):
            continue
    return total


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------
def stop_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the server's process group (its workers too), SIGKILL after `grace` seconds."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        stop_group(self.proc)


def start(name: str, cmd: list[str], port: int, probe: str, cwd: Path, timeout: float = 60.0) -> Server:
    proc = subprocess.Popen(
        pinned(cmd, 0), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    server = Server(name, proc, port)
    try:
        wait_ready(port, probe, timeout)
    except Exception:
        server.stop()
        raise
    return server


def nsd_cmd(work: Path, zonefile: Path, port: int) -> list[str]:
    conf = work / f"nsd-{port}.conf"
    conf.write_text(
        f"""server:
    ip-address: 127.0.0.1@{port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{work}"
    database: ""
    zonelistfile: "{work}/zone.list"
    xfrdfile: "{work}/xfrd.state"
    pidfile: "{work}/nsd-{port}.pid"
    verbosity: 0
    hide-version: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: {genzone.ORIGIN}
    zonefile: "{zonefile}"
"""
    )
    return [shutil.which("nsd") or "/usr/sbin/nsd", "-d", "-c", str(conf)]


DNSLIB_SERVER = r'''
import sys, time
from dnslib import RR, QTYPE, RCODE
from dnslib.server import DNSServer, BaseResolver
records = {}
for rr in RR.fromZone(open(sys.argv[1]).read()):
    records.setdefault((str(rr.rname).lower(), rr.rtype), []).append(rr)
names = {k[0] for k in records}
class Resolver(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        q = request.q
        key = (str(q.qname).lower(), q.qtype)
        if key in records:
            for rr in records[key]:
                reply.add_answer(rr)
        elif key[0] not in names:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply
server = DNSServer(Resolver(), port=int(sys.argv[2]), address="127.0.0.1")
server.start_thread()
while True:
    time.sleep(1)
'''


def run_dnsperf(port: int, queries: Path, seconds: float, mode: str = "udp") -> dict[str, float]:
    cmd = pinned(
        ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries), "-l", str(seconds), "-m", mode,
         "-c", "4" if mode == "tcp" else "1", "-q", "200", "-t", "2"],
        1,
    )
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout

    def grab(pattern: str) -> float:
        m = re.search(pattern, out)
        return float(m.group(1)) if m else float("nan")

    return {
        "sent": grab(r"Queries sent:\s+(\d+)"),
        "completed": grab(r"Queries completed:\s+(\d+)"),
        "lost": grab(r"Queries lost:\s+(\d+)"),
        "qps": grab(r"Queries per second:\s+([\d.]+)"),
        "latency_ms": grab(r"Average Latency \(s\):\s+([\d.]+)") * 1000,
    }


def bench_server(work: Path, rounds: int, seconds: float, records: int, rrl: bool = False) -> list[dict[str, object]]:
    recs = genzone.generate(records)
    genzone.write_yaml(recs, work / "server.yaml")
    genzone.write_bind(recs, work / "server-gen.zone")
    genzone.write_queries(recs, work / "queries.txt")
    # The BIND file NSD serves is zonetool's own export of the YAML zone.
    exported = work / "server.zone"
    subprocess.run([*zonetool_cmd(), "export", str(work / "server.yaml"), "-o", str(exported)], check=True)
    probe = f"ns1.{genzone.ORIGIN}"
    contenders: list[tuple[str, object]] = []
    if shutil.which("nsd") or Path("/usr/sbin/nsd").exists():
        contenders.append(("nsd", lambda p: nsd_cmd(work, exported, p)))
    contenders.append(("zonetool", lambda p: [*zonetool_cmd(), "serve", str(work / "server.yaml"),
                                              "--port", str(p), "--quiet"]))
    # The same server with the HTTP control API on (issue 10): an idle API thread, and the query log kept
    # in memory for GET /queries; its UDP figure must stay within noise of the row above.
    contenders.append(("zonetool --api", lambda p: [*zonetool_cmd(), "serve", str(work / "server.yaml"),
                                                    "--port", str(p), "--quiet", "--api", "127.0.0.1:0"]))
    if rrl:  # response-rate limiting on, at a rate dnsperf never reaches: what the limiter's book-keeping costs
        contenders.append(("zonetool --rrl", lambda p: [*zonetool_cmd(), "serve", str(work / "server.yaml"),
                                                        "--port", str(p), "--quiet", "--rrl", "1000000"]))
    contenders.append(("dnslib DNSServer", lambda p: [sys.executable, "-c", DNSLIB_SERVER, str(exported), str(p)]))
    udp_only = {"dnslib DNSServer", "zonetool --rrl", "zonetool --api"}  # RRL limits UDP only; --api: its UDP cost
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(rounds):
        for name, make in contenders:
            for mode in ("udp",) if name in udp_only else ("udp", "tcp"):
                port = free_port()
                server = start(name, make(port), port, probe, work)  # type: ignore[operator]
                try:
                    cpu0 = tree_cpu(server.proc.pid)
                    stats = run_dnsperf(port, work / "queries.txt", seconds, mode)
                    cpu = tree_cpu(server.proc.pid) - cpu0
                finally:
                    server.stop()
                stats["cpu_us"] = cpu / max(stats["completed"], 1) * 1e6
                results.setdefault((name, mode), []).append(stats)
    rows = []
    for (name, mode), runs in results.items():
        rows.append({
            "server": name,
            "mode": mode,
            "qps": statistics.median(r["qps"] for r in runs),
            "lost": sum(r["lost"] for r in runs),
            "latency_ms": statistics.median(r["latency_ms"] for r in runs),
            "cpu_us": statistics.median(r["cpu_us"] for r in runs),
        })
    return rows


def print_server(rows: list[dict[str, object]]) -> None:
    base = {r["mode"]: r for r in rows if r["server"] == "nsd"}
    stock = next((r for r in rows if r["server"] == "dnslib DNSServer"), None)
    print(f"\n{'server':<18}{'mode':<6}{'queries/s':>11}{'lost':>7}{'latency':>10}{'CPU/q':>9}"
          f"{'qps/NSD':>9}{'CPU/NSD':>9}{'qps/dnslib':>11}")
    for r in rows:
        b = base.get(r["mode"])
        qps_ratio = f"{r['qps'] / b['qps']:.2f}x" if b else "-"  # type: ignore[operator]
        cpu_ratio = f"{r['cpu_us'] / b['cpu_us']:.2f}x" if b else "-"  # type: ignore[operator]
        stock_ratio = f"{r['qps'] / stock['qps']:.1f}x" if stock and r["mode"] == "udp" else "-"  # type: ignore[operator]
        print(f"{r['server']:<18}{r['mode']:<6}{r['qps']:>11.0f}{r['lost']:>7.0f}{r['latency_ms']:>8.2f}ms"
              f"{r['cpu_us']:>7.1f}us{qps_ratio:>9}{cpu_ratio:>9}{stock_ratio:>11}")
    by = {(r["server"], r["mode"]): r for r in rows}
    plain, api = by.get(("zonetool", "udp")), by.get(("zonetool --api", "udp"))
    if plain and api:
        print(f"UDP with --api: {api['qps'] / plain['qps']:.2f}x the queries/s and "  # type: ignore[operator]
              f"{api['cpu_us'] / plain['cpu_us']:.2f}x the CPU per query of the run without it")  # type: ignore[operator]


# ---------------------------------------------------------------------------
# big zones
# ---------------------------------------------------------------------------
def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=pyc_env())
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        err = proc.stderr.read().decode()[-400:] if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err}")
    return elapsed, usage.ru_maxrss / 1024, proc.returncode


DNSPYTHON_PARSE_WRITE = r'''
import sys, dns.zone
z = dns.zone.from_file(sys.argv[1], origin=sys.argv[3], relativize=False)
z.to_file(sys.argv[2], relativize=False)
'''


def bench_zones(work: Path, sizes: list[int], with_dnspython: bool) -> list[dict[str, object]]:
    rows = []
    for n in sizes:
        d = work / f"zone{n}"
        d.mkdir(exist_ok=True)
        recs = genzone.generate(n)
        genzone.write_yaml(recs, d / "z.yaml")
        genzone.write_bind(recs, d / "z.zone")
        zt = zonetool_cmd()
        row: dict[str, object] = {"records": n}
        row["validate"] = timed([*zt, "validate", str(d / "z.yaml")], d)
        row["export"] = timed([*zt, "export", str(d / "z.yaml"), "-o", str(d / "out.zone")], d)
        row["import"] = timed([*zt, "import", str(d / "z.zone"), "--origin", genzone.ORIGIN,
                               "-o", str(d / "imported.yaml"), "--force"], d)  # timed runs replace it
        if with_dnspython and n <= 100_000:  # the goal compares at 100k; at 1M dnspython takes ~10 minutes
            row["dnspython"] = timed([sys.executable, "-c", DNSPYTHON_PARSE_WRITE, str(d / "z.zone"),
                                      str(d / "dnspython.zone"), genzone.ORIGIN], d)
        rows.append(row)
    return rows


def pyc_env() -> dict[str, str]:
    """The environment without PYTHONDONTWRITEBYTECODE: time programs as a normal install runs them (with .pyc)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def bench_startup(runs: int) -> dict[str, float]:
    """Wall seconds of `zonetool validate` and `import` on small zones (the common case): median of `runs`.

    The first run is a warm-up that also writes the .pyc files a normal install has, so
    PYTHONDONTWRITEBYTECODE (set in some sandboxes) does not make every run recompile.
    """
    env = pyc_env()
    root = HERE.parent
    zt = zonetool_cmd()
    with tempfile.TemporaryDirectory(prefix="zonetool-startup-") as tmp:
        small = Path(tmp) / "small.zone"
        genzone.write_bind(genzone.generate(20), small)
        commands = {
            "validate zones/example.com.yaml": [*zt, "validate", str(root / "zones" / "example.com.yaml")],
            "import (20 records)": [*zt, "import", str(small), "--origin", genzone.ORIGIN,
                                    "-o", str(Path(tmp) / "small.yaml"), "--force"],
        }
        out = {}
        for label, cmd in commands.items():
            times = []
            for i in range(runs + 1):
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                if i:
                    times.append(time.perf_counter() - t0)
            out[label] = statistics.median(times)
    return out


def print_zones(rows: list[dict[str, object]]) -> None:
    print(f"\n{'records':>9} {'step':<10}{'seconds':>9}{'peak MiB':>10}{'records/s':>12}{'us/record':>10}"
          f"{'vs dnspython':>14}")
    for row in rows:
        n = row["records"]
        dp = row.get("dnspython")
        for step in ("validate", "export", "import", "dnspython"):
            if step not in row:
                continue
            sec, mib, _ = row[step]  # type: ignore[misc]
            ratio = f"{dp[0] / sec:.1f}x faster" if dp and step != "dnspython" else "-"  # type: ignore[index]
            print(f"{n:>9} {step:<10}{sec:>9.2f}{mib:>10.0f}{n / sec:>12.0f}{sec / n * 1e6:>10.1f}{ratio:>14}")  # type: ignore[operator]


def bench_memory(work: Path, sizes: list[int]) -> list[tuple[int, int]]:
    """RSS of `zonetool serve` holding zones of each size, after answering a few queries."""
    out = []
    for n in sizes:
        d = work / f"mem{n}"
        d.mkdir(exist_ok=True)
        recs = genzone.generate(n)
        genzone.write_yaml(recs, d / "z.yaml")
        port = free_port()
        server = start("zonetool", [*zonetool_cmd(), "serve", str(d / "z.yaml"), "--port", str(port), "--quiet"],
                       port, f"h1.{genzone.ORIGIN}", d, timeout=600)
        try:
            out.append((n, tree_rss_kib(server.proc.pid) // 1024))
        finally:
            server.stop()
    return out


def print_goals(figures: dict[str, object]) -> None:
    """Issue 6's goals, each with the measured figure and whether it is met in this run."""
    goals: list[tuple[str, str, bool]] = []
    rows = figures.get("server") or []
    by = {(r["server"], r["mode"]): r for r in rows}  # type: ignore[index]
    nsd, zt, stock = by.get(("nsd", "udp")), by.get(("zonetool", "udp")), by.get(("dnslib DNSServer", "udp"))
    if nsd and zt:
        q, c = zt["qps"] / nsd["qps"], zt["cpu_us"] / nsd["cpu_us"]
        goals.append(("serve UDP >= 0.8x NSD queries/s", f"{q:.2f}x", q >= 0.8))
        goals.append(("serve CPU per query <= 1.5x NSD", f"{c:.2f}x", c <= 1.5))
        lost = sum(r["lost"] for r in rows if r["server"] == "zonetool")  # type: ignore[index]
        goals.append(("serve loses no query", f"{lost:.0f} lost", lost == 0))
    with_api = by.get(("zonetool --api", "udp"))
    if zt and with_api:
        q = with_api["qps"] / zt["qps"]
        goals.append(("serve UDP with --api >= 0.9x without", f"{q:.2f}x", q >= 0.9))
    if zt and stock:
        q = zt["qps"] / stock["qps"]
        goals.append(("serve >= 25x dnslib DNSServer", f"{q:.1f}x", q >= 25))
    for row in figures.get("zones") or []:  # type: ignore[union-attr]
        n = row["records"]
        if n != 100_000 and not (n < 100_000 and len(figures["zones"]) == 1):  # type: ignore[arg-type]
            continue
        dp = row.get("dnspython")
        for step in ("validate", "export", "import"):
            sec, mib, _ = row[step]
            goals.append((f"{step} {n} records < 5 s", f"{sec:.2f} s", sec < 5))
            if step != "import":
                goals.append((f"{step} {n} records < 400 MiB", f"{mib:.0f} MiB", mib < 400))
                if dp:
                    goals.append((f"{step} >= 3x faster than dnspython", f"{dp[0] / sec:.1f}x", dp[0] / sec >= 3))
    for label, sec in (figures.get("startup_s") or {}).items():  # type: ignore[union-attr]
        goals.append((f"small zone: {label} < 0.3 s", f"{sec:.2f} s", sec < 0.3))
    if goals:
        print("\ngoals (issue 6):")
        for text, value, ok in goals:
            print(f"  {'met ' if ok else 'MISS'}  {text:<44}{value:>12}")


def many_zones(args: argparse.Namespace) -> int:
    import manyzones

    n = args.zones if args.zones is not None else (200 if args.smoke else 10_000)
    print(f"machine: {machine()}; load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="zonetool-manyzones-") as tmp:
        figures = manyzones.main(Path(tmp), n, args.smoke)
    figures["load_average_end"] = os.getloadavg()[0]
    print(f"load average at the end: {figures['load_average_end']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds: checks the benchmark still runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="dnsperf run length per server and round")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="big-zone sizes (records)")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-zones", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--rrl", action="store_true", help="also serve UDP with response-rate limiting on")
    parser.add_argument("--many-zones", action="store_true",
                        help="only the many-zones part (issue 11): N small zones against NSD, see manyzones.py")
    parser.add_argument("--zones", type=int, default=None, help="how many zones for --many-zones (10,000; smoke 200)")
    args = parser.parse_args()
    if args.many_zones or args.zones is not None:
        return many_zones(args)
    if args.smoke:  # checks that everything runs; 1-second dnsperf runs are mostly cold-cache start-up
        args.rounds, args.seconds, args.sizes = 1, 1.0, "2000"
    missing = [t for t in ("dnsperf", "nsd") if not (shutil.which(t) or Path(f"/usr/sbin/{t}").exists())]
    if missing and not args.skip_server:
        print(f"missing {', '.join(missing)}: apt-get install dnsperf nsd (or pass --skip-server)", file=sys.stderr)
        return 2
    print(f"machine: {machine()}; server pinned to core 0, dnsperf to core 1: {TWO_CORES}; "
          f"load average at start: {os.getloadavg()[0]:.2f}")
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="zonetool-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_server:
            rows = bench_server(work, args.rounds, args.seconds, 1022, rrl=args.rrl)
            print_server(rows)
            figures["server"] = rows
        if not args.skip_zones:
            sizes = [int(s) for s in args.sizes.split(",")]
            zrows = bench_zones(work, sizes, with_dnspython=True)
            print_zones(zrows)
            figures["zones"] = zrows
            startup = bench_startup(2 if args.smoke else 10)
            for label, sec in startup.items():
                print(f"start to finish, small zone: zonetool {label}: {sec:.2f} s (median)")
            figures["startup_s"] = startup
            mem_sizes = [2000] if args.smoke else [100_000, 1_000_000]
            mem = bench_memory(work, mem_sizes)
            for n, mib in mem:
                print(f"zonetool serve RSS with {n} records: {mib} MiB")
            figures["serve_rss_mib"] = mem
    print_goals(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
