"""Memory per input octet and fmt against validate, measured in one run (issue 16, item 12).

    python benchmarks/memory.py            # a 10 MB BIND string, a 50 MB YAML zone
    python benchmarks/memory.py --smoke    # 1 MB and 2 MB: checks the benchmark still runs

Prints, for each input, wall seconds and peak RSS of `zonetool validate` (and `import` for the
BIND file, `fmt` for the YAML zone) as octets of RSS per octet of input, and the fmt/validate
time ratio. The YAML zone has the shape programs write (benchmarks/genzone.py: one owner per
line, A/AAAA/MX/SRV/TXT/CNAME), which is the shape whose 50 MB the issue measured (2.2 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import genzone  # noqa: E402

SOA = "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 host 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"


def zonetool_cmd() -> list[str]:
    beside = Path(sys.executable).with_name("zonetool")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "zonetool.cli"]


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (octets) of one child (exit 0 or 1: findings are fine here)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        err = proc.stderr.read().decode()[-400:] if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err}")
    return elapsed, usage.ru_maxrss * 1024


def bind_string(work: Path, octets: int) -> Path:
    path = work / "example.com.zone"
    path.write_text(SOA + f'big IN TXT "{"a" * octets}"\n')
    return path


def yaml_zone(work: Path, octets: int) -> Path:
    """A genzone YAML of about `octets` (29 octets per record, measured)."""
    recs = genzone.generate(max(1000, octets // 29))
    path = work / "big.yaml"
    genzone.write_yaml(recs, path)
    return path


def run(string_mb: float, yaml_mb: float) -> dict[str, object]:
    zt = zonetool_cmd()
    work = Path(tempfile.mkdtemp(prefix="zonetool-memory-"))
    try:
        rows: list[dict[str, object]] = []
        bind = bind_string(work, int(string_mb * 1e6))
        size = bind.stat().st_size
        for command in ("validate", "import"):
            seconds, rss = measure([*zt, command, str(bind)])
            rows.append({"input": f"BIND, one {string_mb:g} MB string", "command": command, "octets": size,
                         "seconds": seconds, "rss": rss, "rss_per_octet": rss / size})
        zone = yaml_zone(work, int(yaml_mb * 1e6))
        size = zone.stat().st_size
        seconds, rss = measure([*zt, "validate", str(zone)])
        rows.append({"input": f"YAML zone, {size / 1e6:.1f} MB", "command": "validate", "octets": size,
                     "seconds": seconds, "rss": rss, "rss_per_octet": rss / size})
        validate_s = seconds
        seconds, rss = measure([*zt, "fmt", str(zone)])
        rows.append({"input": f"YAML zone, {size / 1e6:.1f} MB", "command": "fmt", "octets": size,
                     "seconds": seconds, "rss": rss, "rss_per_octet": rss / size})
        return {"rows": rows, "fmt_over_validate": seconds / validate_s}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="small inputs: checks the benchmark still runs")
    parser.add_argument("--string-mb", type=float, default=10.0)
    parser.add_argument("--yaml-mb", type=float, default=50.0)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    string_mb, yaml_mb = (1.0, 2.0) if args.smoke else (args.string_mb, args.yaml_mb)
    figures = run(string_mb, yaml_mb)
    print(f"{'input':<28}{'command':<10}{'seconds':>9}{'peak RSS':>12}{'RSS/octet':>11}")
    for r in figures["rows"]:  # type: ignore[attr-defined]
        print(f"{r['input']:<28}{r['command']:<10}{r['seconds']:>9.2f}{r['rss'] / 2**20:>9.0f} MiB"
              f"{r['rss_per_octet']:>10.1f}x")
    print(f"fmt / validate time on the YAML zone: {figures['fmt_over_validate']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
