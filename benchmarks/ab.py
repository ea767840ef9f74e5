"""Two commits of zonetool against each other, in one run, alternating round by round.

Why: a restructuring promises "no slower". Measured on a shared machine, only figures taken
side by side in the same run mean anything, so each round runs A then B (then B then A next
round) and the report gives medians and the ratio B/A of each, with the 5% budget marked.

    python benchmarks/ab.py main HEAD                 # UDP, 100k-record validate/export/import, start-up
    python benchmarks/ab.py main HEAD --rounds 5 --seconds 5 --records 100000

Both commits run from `git archive` copies on this checkout's interpreter (same dependencies).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import genzone  # noqa: E402
import run  # noqa: E402

BUDGET = 1.05  # issue 15: each median within 5% of before (or better)
ENTRY = "import sys; sys.argv[0] = 'zonetool'; from zonetool.cli import main; sys.exit(main())"


def checkout(rev: str, dest: Path) -> Path:
    """The tree of `rev` unpacked into dest (no .git, nothing installed)."""
    dest.mkdir(parents=True)
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=HERE, capture_output=True, text=True,
                          check=True).stdout.strip()
    archive = subprocess.run(["git", "archive", rev], cwd=root, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def command(tree: Path) -> list[str]:
    return ["env", f"PYTHONPATH={tree}", sys.executable, "-c", ENTRY]


def one_round(side: str, zt: list[str], work: Path, size: str, seconds: float,
              results: dict[tuple[str, str], list[float]]) -> None:
    def put(what: str, value: float) -> None:
        results.setdefault((what, side), []).append(value)

    zone, bind = work / "z.yaml", work / "z.zone"
    put(f"validate {size} (s)", run.timed([*zt, "validate", str(zone)], work)[0])
    put(f"export {size} (s)", run.timed([*zt, "export", str(zone), "-o", str(work / f"out-{side}.zone")], work)[0])
    put(f"import {size} (s)", run.timed([*zt, "import", str(bind), "--origin", genzone.ORIGIN,
                                        "-o", str(work / f"imp-{side}.yaml"), "--force"], work)[0])
    small = HERE.parent / "zones" / "example.com.yaml"
    for _ in range(3):  # start-up is short and noisy: three samples a round
        t0 = time.perf_counter()
        subprocess.run([*zt, "validate", str(small)], env=run.pyc_env(), capture_output=True, check=False)
        put("start-up, small zone (s)", time.perf_counter() - t0)
    port = run.free_port()
    server = run.start(side, [*zt, "serve", str(work / "server.yaml"), "--port", str(port), "--quiet"], port,
                       f"ns1.{genzone.ORIGIN}", work)
    try:
        cpu0 = run.tree_cpu(server.proc.pid)
        stats = run.run_dnsperf(port, work / "queries.txt", seconds)
        cpu = run.tree_cpu(server.proc.pid) - cpu0
    finally:
        server.stop()
    put("UDP queries/s", stats["qps"])
    put("UDP CPU per query (us)", cpu / max(stats["completed"], 1) * 1e6)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="the commit before (e.g. main)")
    ap.add_argument("b", help="the commit after (e.g. HEAD)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0, help="dnsperf run per side and round")
    ap.add_argument("--records", type=int, default=100_000)
    args = ap.parse_args()
    print(f"machine: {run.machine()}; load average at start: {os.getloadavg()[0]:.2f}")
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="zonetool-ab-") as tmp:
        work = Path(tmp)
        sides = {"A": command(checkout(args.a, work / "a")), "B": command(checkout(args.b, work / "b"))}
        recs = genzone.generate(args.records)
        genzone.write_yaml(recs, work / "z.yaml")
        genzone.write_bind(recs, work / "z.zone")
        served = genzone.generate(1022)
        genzone.write_yaml(served, work / "server.yaml")
        genzone.write_queries(served, work / "queries.txt")
        for zt in sides.values():  # warm-up: .pyc files written, page cache filled
            for cmd in (["validate", str(work / "z.yaml")], ["import", str(work / "z.zone"), "--origin",
                                                               genzone.ORIGIN]):
                subprocess.run([*zt, *cmd], env=run.pyc_env(), capture_output=True)
        for i in range(args.rounds):
            order = ["A", "B"] if i % 2 == 0 else ["B", "A"]
            for side in order:
                one_round(side, sides[side], work, f"{args.records // 1000}k", args.seconds, results)
    print(f"\nA = {args.a}, B = {args.b}; medians of {args.rounds} rounds, alternating")
    print(f"{'measure':<28}{'A':>11}{'B':>11}{'B/A':>8}  within 5%")
    for what in dict.fromkeys(w for w, _ in results):
        a, b = statistics.median(results[(what, "A")]), statistics.median(results[(what, "B")])
        ratio = b / a
        better_is_lower = "queries/s" not in what
        ok = ratio <= BUDGET if better_is_lower else ratio >= 1 / BUDGET
        print(f"{what:<28}{a:>11.3f}{b:>11.3f}{ratio:>7.3f}x  {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
