"""cli/typer_speedup.py must keep taking effect: typer calls its builder, a plain run never
imports pydantic, and every message is the same as with typer's own coercion.

The speed-up replaces a private typer function; a typer release that renames it, calls it
another way or moves pydantic elsewhere makes these tests fail instead of silently doubling
the start-up of every small job.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.core
import typer.main

from zonetool.cli import app as zonetool_app
from zonetool.cli import typer_speedup

ROOT = Path(__file__).resolve().parent.parent

# Runs one command the way the console script does and reports what it imported. With
# "typer" as its first argument it undoes the speed-up first: typer's own coercion.
RUNNER = """
import contextlib, io, json, sys
import typer.core
original = typer.core.build_runtime_param
from zonetool.cli import main
if sys.argv[1] == "typer":
    typer.core.build_runtime_param = original
sys.argv = ["zonetool", *sys.argv[2:]]
out, err = io.StringIO(), io.StringIO()
code = 0
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
sys.__stdout__.write(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(),
                                 "pydantic": "pydantic" in sys.modules,
                                 "adapters": "typer._adapters" in sys.modules}))
"""

ZONE = str(ROOT / "zones" / "example.com.yaml")
PLAIN_RUNS = [  # Path, Enum and bool arguments only: the cases the speed-up converts itself
    ["validate", ZONE],
    ["validate", "--format", "json", ZONE],
    ["fmt", "--check", ZONE],
    ["export", ZONE],
]
SAME_RUNS = [  # a plain int beside typer's own float and int | None; values handed back to typer
    ["route", "user@example.com", "--zone", ZONE, "--samples", "20", "--seed", "1"],
    ["validate", "--format", "xml", ZONE],
    ["route", "user@example.com", "--zone", ZONE, "--samples", "many"],
    ["route", "user@example.com", "--zone", ZONE, "--samples", "-3"],
    ["validate", str(ROOT / "no-such-zone.yaml")],
]


def run(mode: str, args: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, mode, *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_typer_calls_the_replacement_builder() -> None:
    assert typer_speedup.install() is True  # installed when zonetool.cli.app was imported; a no-op now
    assert typer.core.build_runtime_param.__module__ == typer_speedup.__name__
    command = typer.main.get_command(zonetool_app)
    validate = command.commands["validate"]  # type: ignore[attr-defined]
    runtime = [p.get_runtime_param() for p in validate.params if hasattr(p, "get_runtime_param")]
    assert runtime, "typer's parameters no longer build runtime params through get_runtime_param"
    assert all(type(r).__module__ == typer_speedup.__name__ for r in runtime), [type(r) for r in runtime]


@pytest.mark.parametrize("args", PLAIN_RUNS, ids=["validate", "validate-json", "fmt-check", "export"])
def test_a_plain_run_never_imports_pydantic(args: list[str]) -> None:
    fast = run("fast", args)
    assert fast["pydantic"] is False and fast["adapters"] is False, fast
    slow = run("typer", args)
    assert slow["adapters"] is True, "typer no longer builds adapters: the speed-up has nothing left to save"
    assert (fast["code"], fast["out"], fast["err"]) == (slow["code"], slow["out"], slow["err"])


SAME_IDS = ["route-samples", "bad-format", "bad-int", "negative-int", "missing-file"]


@pytest.mark.parametrize("args", SAME_RUNS, ids=SAME_IDS)
def test_mixed_and_bad_values_get_typers_own_results(args: list[str]) -> None:
    fast, slow = run("fast", args), run("typer", args)
    assert (fast["code"], fast["out"], fast["err"]) == (slow["code"], slow["out"], slow["err"])
