"""Signing a big zone: `zonetool export` of a zone with `dnssec:` against `dnssec-signzone`, same keys.

Both sign the same generated zone (benchmarks/genzone.py) with the same KSK + ZSK (made by
`zonetool keygen`, read by dnssec-signzone from the key folder with -S), NSEC and NSEC3 (RFC 9276:
`-3 - -H 0`), in alternating rounds; the figure is the ratio of the medians, measured in this
run. zonetool's time includes reading the YAML, the rules and writing the file; dnssec-signzone
reads a BIND file. The unsigned export is timed too, so the signing's own share can be seen.

    python benchmarks/sign.py                # 100,000 records, 3 rounds (a few minutes)
    python benchmarks/sign.py --smoke        # 2,000 records, 1 round: the test suite runs it
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import genzone  # noqa: E402

GOAL = 3.0  # issue 14: at most 3x dnssec-signzone's time


def zonetool_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("zonetool")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "zonetool"]


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-600:]}")
    return elapsed


def prepare(work: Path, records: int, denial: str) -> Path:
    d = work / denial
    d.mkdir(parents=True)
    recs = genzone.generate(records)
    genzone.write_yaml(recs, d / "plain.yaml")
    genzone.write_bind(recs, d / "z.zone")
    (d / "z.yaml").write_text((d / "plain.yaml").read_text() + f"dnssec: {{denial: {denial}}}\n")
    subprocess.run([*zonetool_cmd(), "keygen", "z.yaml"], cwd=d, check=True, capture_output=True)
    return d


def bench(work: Path, records: int, rounds: int, denial: str) -> dict[str, object]:
    d = prepare(work, records, denial)
    signzone = shutil.which("dnssec-signzone") or "/usr/sbin/dnssec-signzone"
    bind = [signzone, "-q", "-S", "-K", "keys", "-o", genzone.ORIGIN, "-f", "bind.zone",
            *(["-3", "-", "-H", "0"] if denial == "nsec3" else []), "z.zone"]
    ours = [*zonetool_cmd(), "export", "z.yaml", "-o", "signed.zone"]
    plain = [*zonetool_cmd(), "export", "plain.yaml", "-o", "plain.zone"]
    times: dict[str, list[float]] = {"zonetool": [], "dnssec-signzone": [], "unsigned export": []}
    for _ in range(rounds):  # alternating, so a busy moment of the machine hits both
        times["dnssec-signzone"].append(timed(bind, d))
        times["zonetool"].append(timed(ours, d))
        times["unsigned export"].append(timed(plain, d))
    verify = shutil.which("dnssec-verify")
    verified = None
    if verify:  # the figure is only worth something for a zone that validates
        verified = subprocess.run([verify, "-q", "-o", genzone.ORIGIN, "signed.zone"], cwd=d,
                                  capture_output=True).returncode == 0
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"records": records, "denial": denial, "rounds": rounds, "seconds": times, "median": medians,
            "ratio": medians["zonetool"] / medians["dnssec-signzone"], "verified": verified}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="2,000 records, one round")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    records, rounds = (2000, 1) if args.smoke else (args.records, args.rounds)
    rows = []
    with tempfile.TemporaryDirectory(prefix="zonetool-sign-bench-") as tmp:
        for denial in ("nsec", "nsec3"):
            rows.append(bench(Path(tmp), records, rounds, denial))
    print(f"signing {records:,} records, medians of {rounds} alternating round(s):")
    for row in rows:
        m = row["median"]
        assert isinstance(m, dict)
        print(f"  {row['denial']:<5}  zonetool export {m['zonetool']:7.2f} s   dnssec-signzone "
              f"{m['dnssec-signzone']:7.2f} s   ratio {row['ratio']:.2f}x (goal <= {GOAL:g}x)   "
              f"unsigned export {m['unsigned export']:6.2f} s   dnssec-verify: "
              f"{'ok' if row['verified'] else 'FAILED' if row['verified'] is False else 'not installed'}")
    if args.json:
        args.json.write_text(json.dumps({"sign": rows}, indent=2))
    return 0 if all(r["verified"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
