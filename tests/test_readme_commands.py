"""Every command the README and docs/ show is run, so none goes stale (issue 11 A15).

A fenced block says how it is tested in an HTML comment on the line before it (docs/development.md,
"The README's commands are tests"):

    <!-- run: SESSION [in=checkout] -->   run it; blocks of one session share one folder, in order
    <!-- file: SESSION PATH -->           write the block into PATH of that folder
    <!-- not run: REASON -->              not run, for the reason given (listed in NOT_RUN below)
    <!-- python: NOTE -->                 a Python sketch: compiled, not run

An `sh` block is one command per line; a `console` block has `$ COMMAND` lines followed by the
output expected (stdout and stderr as a terminal shows them; `...` is any text within a line, or
any lines on a line of its own). A command whose comment starts with `exit N` must exit N, every
other one 0. `zonetool serve` runs in the background until the end of its block: the test waits
for its start line, asks the question that line suggests (`ask it: dig ...`) and stops it. A daemon
of BACKGROUND started with `&` (unbound) runs until the end of its block too, once its output says it is up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, require_tool, zonetool_exe

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "console"}
MARKER = re.compile(r"^<!--\s*(run|file|not run|python):\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(\S*)\s*$")
# Blocks deliberately not run, by their first command: each reason says what it would need.
NOT_RUN = {
    "bash scripts/test.sh": "the whole test suite, which this test is part of (.ci/run runs it; "
                            "test_ci_runs_the_readme_test_command checks it is the same command)",
    "apt-get install dnsperf nsd": "installs system packages and runs the 8-minute benchmark "
                                   "(tests/test_benchmark_smoke.py runs benchmarks/run.py --smoke)",
    ".venv/bin/python benchmarks/run.py --many-zones": "10,000 zones against NSD, minutes of CPU "
                                                         "(tests/test_benchmark_smoke.py runs it with --smoke)",
    "tsig-keygen -a hmac-sha256 xfr.example > xfr.key && chmod 600 xfr.key":
        "addresses of a production network (192.0.2.0/24); tests/test_tsig_secondaries.py runs the same "
        "steps on loopback against NSD, Knot and named",
    "tsig-keygen -a hmac-sha256 update.example > update.key && chmod 600 update.key":
        "a BIND or Knot primary at a production address (192.0.2.1) that takes updates with the key; "
        "tests/test_push.py runs the same steps on loopback against named and knotd",
}
# Tools a command may call that are not part of zonetool: missing ones skip locally, fail in CI.
TOOLS = ("dig", "curl", "jq", "named-checkzone", "sed", "unbound")
# Daemons a block may start in the background (`COMMAND &`), by their first word: each one is up when
# its output says the words given, and is stopped at the end of its block, as `zonetool serve` is.
BACKGROUND = {"unbound": "start of service"}
SERVING = re.compile(r"serving .* on (\S+):(\d+) \(UDP and TCP")
EXPECTED_EXIT = re.compile(r"\s#\s*exit (\d+)\b")
LOCK = Path(tempfile.gettempdir()) / "zonetool-readme-commands.lock"


@dataclass
class Block:
    doc: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    kind: str | None  # run, file, not run, python, or None (no marker)
    args: str = ""

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """The fenced blocks of one Markdown file, each with the marker on the line before it (if any)."""
    found: list[Block] = []
    lines = doc.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        found.append(Block(doc, i + 1, opening.group(1), "\n".join(lines[i + 1 : end]) + "\n",
                           marker.group(1) if marker else None, marker.group(2) if marker else ""))
        i = end + 1
    return found


ALL = [b for doc in DOCUMENTS for b in blocks(doc)]


@dataclass
class Session:
    name: str
    checkout: bool = False
    blocks: list[Block] = field(default_factory=list)


def sessions() -> dict[str, Session]:
    found: dict[str, Session] = {}
    for b in ALL:
        if b.kind not in ("run", "file"):
            continue
        words = b.args.split()
        session = found.setdefault(words[0], Session(words[0]))
        session.checkout = session.checkout or "in=checkout" in words[1:]
        session.blocks.append(b)
    return found


def first_command(b: Block) -> str:
    for line in b.text.splitlines():
        line = line.removeprefix("$ ").split("#")[0].strip() if not line.startswith("#") else ""
        if line:
            return line
    return ""


# --------------------------------------------------------------------------- the markers themselves


def test_every_shell_block_is_run_or_says_why_not() -> None:
    unmarked = [b.where for b in ALL if b.lang in SHELL and b.kind not in ("run", "not run")]
    assert unmarked == [], f"shell blocks without <!-- run: SESSION --> or <!-- not run: REASON -->: {unmarked}"
    files = [b.where for b in ALL if b.kind == "file" and len(b.args.split()) != 2]
    assert files == [], f"<!-- file: SESSION PATH --> needs both: {files}"


def test_the_blocks_not_run_are_the_listed_ones() -> None:
    not_run = {first_command(b): b for b in ALL if b.kind == "not run"}
    assert set(not_run) == set(NOT_RUN), "a block not run must be listed in NOT_RUN with its reason"
    assert all(b.args for b in not_run.values()), "every <!-- not run --> gives its reason"


def test_python_sketches_compile() -> None:
    sketches = [b for b in ALL if b.lang == "python"]
    assert sketches, "the README shows the fixtures in Python"
    for b in sketches:
        compile(b.text, b.where, "exec")


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run says "The README's test command, verbatim": the quick start's second command."""
    (shown,) = [b for b in ALL if b.kind == "not run" and first_command(b) == "bash scripts/test.sh"]
    assert shown.doc.name == "README.md" and shown.text.strip() == "bash scripts/test.sh"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == shown.text.strip(), ci[-1]
    quick = (ROOT / "README.md").read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert [b.text.strip() for b in ALL if b.doc.name == "README.md" and f"```sh\n{b.text}" in quick] == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/zonetool serve", "bash scripts/test.sh"]


def test_the_readme_install_line_names_every_package_ci_installs() -> None:
    """The quick start's `apt-get install ...` is what .ci/run installs (its `need` list), so a tool a
    test needs is never missing from the README (scripts/unpack-postfix.sh brings Postfix)."""
    pairs = re.search(r"^for pair in (.*?); do", (ROOT / ".ci" / "run").read_text(), re.M)
    assert pairs
    packages = {pair.split(":", 1)[1] for pair in pairs.group(1).split()}
    line = re.search(r"`apt-get install ([^`]*)`", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert line
    assert packages - {"util-linux"} <= set(line.group(1).split()), packages - set(line.group(1).split())


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {anchor(m.group(1)) for m in re.finditer(r"^#+ (.*)$", text, re.M)}


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_links_lead_somewhere(doc: Path) -> None:
    text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not followed
        path, _, frag = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        if not dest.exists() or (frag and dest.suffix == ".md" and frag not in anchors(dest)):
            broken.append(target)
    assert broken == [], f"{doc.name}: links to nothing: {broken}"


# --------------------------------------------------------------------------- running the sessions


def lines_match(expected: list[str], actual: list[str]) -> bool:
    """`...` within a line is any text; a line of its own `...` is any number of lines."""
    def one(pattern: str, line: str) -> bool:
        return re.fullmatch(".*?".join(map(re.escape, pattern.split("..."))), line) is not None

    memo: dict[tuple[int, int], bool] = {}

    def at(i: int, j: int) -> bool:
        if (i, j) not in memo:
            if i == len(expected):
                memo[i, j] = j == len(actual)
            elif expected[i] == "...":
                memo[i, j] = at(i + 1, j) or (j < len(actual) and at(i, j + 1))
            else:
                memo[i, j] = j < len(actual) and one(expected[i], actual[j]) and at(i + 1, j + 1)
        return memo[i, j]

    return at(0, 0)


def trimmed(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@dataclass
class Step:
    command: str
    output: list[str] | None  # None: not compared (sh blocks)
    where: str

    @property
    def exit(self) -> int:
        match = EXPECTED_EXIT.search(self.command)
        return int(match.group(1)) if match else 0


def steps(b: Block) -> list[Step]:
    out: list[Step] = []
    if b.lang == "console":
        for n, line in enumerate(b.text.splitlines()):
            if line.startswith("$ "):
                out.append(Step(line[2:], [], f"{b.where}+{n + 1}"))
            else:
                assert out, f"{b.where}: output before the first $ command"
                assert out[-1].output is not None
                out[-1].output.append(line)
    else:
        joined = b.text.replace("\\\n", " ")
        for n, line in enumerate(joined.splitlines()):
            if line.strip() and not line.lstrip().startswith("#"):
                out.append(Step(line, None, f"{b.where}+{n + 1}"))
    return out


def stop_group(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's whole process group, SIGKILL if it is still there after 30 s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


class Server:
    """A `zonetool serve` a block started: its start line read, stopped at the block's end."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], timeout: float) -> None:
        self.command = command
        self.stdout = (cwd / f".serve-{time.monotonic_ns()}.out").open("w")
        self.proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, stdout=self.stdout,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.err: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready.wait(timeout)
        hints = [re.search(r"ask it: (dig .*)$", line) for line in self.err if SERVING.search(line)]
        if not hints or hints[0] is None or self.proc.poll() is not None:
            self.stop()
            raise AssertionError(f"`{command}` never said where it listens:\n" + "\n".join(self.err))
        self.hint = hints[0]

    def _read(self) -> None:
        assert self.proc.stderr is not None
        api = "--api" in self.command
        for line in self.proc.stderr:
            self.err.append(line.rstrip("\n"))
            started = any(SERVING.search(x) for x in self.err)
            if started and (not api or any("control API on" in x for x in self.err)):
                self.ready.set()
        self.ready.set()

    def stop(self) -> None:
        stop_group(self.proc)
        self.stdout.close()


class Daemon:
    """A BACKGROUND command a block started: up when its output says so, stopped at the block's end."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], ready: str, timeout: float = 30) -> None:
        self.log = cwd / f".daemon-{time.monotonic_ns()}.out"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while ready not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"`{command}` did not say {ready!r}:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_group(self.proc)


@contextlib.contextmanager
def fixed_ports() -> Iterator[None]:
    """The README's ports (10053, 8053, 2525, ...) are fixed: one run of these sessions at a time per machine."""
    with LOCK.open("w") as lock:
        deadline = time.monotonic() + 900
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another run holds {LOCK} (and the README's fixed ports) for 15 minutes")
                time.sleep(0.5)
        yield


def seed(session: Session, folder: Path) -> None:
    if session.checkout:  # a fresh copy of the repository, as a newcomer clones it
        ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist",
                                        ".pytest_cache", ".ruff_cache")
        shutil.copytree(ROOT, folder, ignore=ignore, dirs_exist_ok=True)
    else:
        for name in ("zones", "examples"):
            shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "100"}
    env["PATH"] = str(Path(zonetool_exe()).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def needs(command: str) -> None:
    for tool in TOOLS:
        if re.search(rf"(^|[|;&(]\s*){re.escape(tool)}\b", command):
            require_tool(tool)


def ask(server: Server, env: dict[str, str], where: str) -> None:
    """The question the start line suggests, asked with dig: the server answers it."""
    require_tool("dig")
    out = subprocess.run([*server.hint.group(1).split(), "+tries=2", "+time=5"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 0 and "status: NOERROR" in out.stdout, (where, server.hint.group(1), out.stdout)
    assert re.search(r"ANSWER: [1-9]", out.stdout), (where, out.stdout)


def run_session(session: Session, folder: Path) -> None:
    env = environment()
    seed(session, folder)
    for b in session.blocks:
        if b.kind == "file":
            path = folder / b.args.split()[1]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(b.text)
            continue
        servers: list[Server] = []
        daemons: list[Daemon] = []
        try:
            for step in steps(b):
                needs(step.command)
                bare = step.command.split("#")[0].rstrip()
                ready = BACKGROUND.get(bare.split()[0]) if bare.endswith("&") else None
                if ready is not None:
                    daemons.append(Daemon(bare.removesuffix("&").rstrip(), folder, env, ready))
                    continue
                if re.search(r"\bzonetool serve\b", step.command):
                    command = step.command.rstrip().removesuffix("&").rstrip()
                    timeout = 900 if session.checkout else 60  # the quick start installs first
                    server = Server(command, folder, env, timeout)
                    servers.append(server)
                    ask(server, env, step.where)
                    if step.output:
                        assert lines_match(["...", *trimmed(step.output), "..."], server.err), (
                            step.where, step.output, server.err)
                    continue
                out = subprocess.run(["bash", "-c", step.command], cwd=folder, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, timeout=600)
                assert out.returncode == step.exit, (
                    f"{step.where}: `{step.command}` exited {out.returncode}, not {step.exit}:\n{out.stdout}")
                if step.output is not None:
                    actual = trimmed(out.stdout.split("\n"))
                    assert lines_match(trimmed(step.output), actual), (
                        f"{step.where}: `{step.command}` printed\n" + "\n".join(actual))
        finally:
            for daemon in daemons:
                daemon.stop()
            for server in servers:
                server.stop()
        for server in servers:
            assert any("zonetool: stopped" in line for line in server.err), (b.where, server.err)


SESSIONS = sessions()


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_readme_session(name: str, tmp_path: Path) -> None:
    session = SESSIONS[name]
    assert any(b.kind == "run" for b in session.blocks)
    with fixed_ports():
        run_session(session, tmp_path)


def test_the_sessions_cover_the_guides() -> None:
    assert {"walkthrough", "server", "http", "production", "quickstart"} <= set(SESSIONS)
