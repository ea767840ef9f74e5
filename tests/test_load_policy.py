"""The loader's execution policy (issue 15, item 4): given by each caller, never a module global.

One-shot commands freeze what they built and may fork the rules of a big zone; a long-running
process (serve, the testing harness) does neither. Each test would fail if the policy stopped
reaching the place it decides.
"""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path

import pytest

from zonetool import forked, loader
from zonetool.loader import LONG_RUNNING, ONE_SHOT_COMMAND, Policy
from zonetool.zone import Zone

ZONE = """\
origin: example.com
nameservers: [ns1, ns2]
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  www: {A: 192.0.2.1}
"""


@pytest.fixture
def zone_file(tmp_path: Path) -> Path:
    p = tmp_path / "example.com.yaml"
    p.write_text(ZONE)
    return p


@pytest.fixture
def any_size_forks(monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> list[int]:
    """Every zone counts as big, so only the policy decides whether the rules fork."""
    monkeypatch.setattr(forked, "MIN_RECORDS", 0)
    return forks


def test_the_policy_is_frozen_and_the_loader_has_no_mode_of_its_own() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ONE_SHOT_COMMAND.fork = False  # type: ignore[misc]
    assert not hasattr(loader, "_COMPILED") and not hasattr(loader, "one_shot")
    assert (LONG_RUNNING.one_shot, LONG_RUNNING.fork) == (False, False)
    assert (ONE_SHOT_COMMAND.one_shot, ONE_SHOT_COMMAND.fork) == (True, True)


def test_forking_allowed_runs_half_the_rules_in_a_child(zone_file: Path, any_size_forks: list[int]) -> None:
    serial = loader.load_file(zone_file)[1]
    assert any_size_forks == []  # the default, long-running policy never forks
    assert loader.load_file(zone_file, Policy(fork=True))[1] == serial
    assert len(any_size_forks) == 1


def test_a_long_running_policy_never_forks_or_freezes(zone_file: Path, any_size_forks: list[int]) -> None:
    frozen = gc.get_freeze_count()
    loader.load_paths([zone_file], policy=LONG_RUNNING)
    assert any_size_forks == [] and gc.get_freeze_count() == frozen


def test_one_shot_freezes_what_it_built(zone_file: Path) -> None:
    frozen = gc.get_freeze_count()
    try:
        loader.load_paths([zone_file], policy=Policy(one_shot=True))
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()


def test_compiled_is_called_before_the_rules_and_only_for_whole_zones(
    tmp_path: Path, zone_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real = loader._run_rules

    def rules(zone: Zone, policy: Policy = LONG_RUNNING) -> list:  # type: ignore[type-arg]
        events.append("rules")
        return real(zone, policy)

    monkeypatch.setattr(loader, "_run_rules", rules)
    policy = LONG_RUNNING.with_compiled(lambda zone: events.append(f"compiled {zone.origin}"))
    loader.load_file(zone_file, policy)
    assert events == ["compiled example.com.", "rules"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(ZONE.replace("www: {A: 192.0.2.1}", "www: {A: 192.0.2.999}"))
    events.clear()
    loader.load_file(broken, policy)
    assert events == ["rules"]  # a zone with a compile error is not handed on


def test_the_server_and_the_harness_load_long_running(zone_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zonetool.server.zonesource import ZoneSource
    from zonetool.testing import DNSTestServer

    seen: list[Policy] = []
    real = loader.load_file

    def spy(path: str | Path, policy: Policy = ONE_SHOT_COMMAND) -> tuple:  # type: ignore[type-arg]
        seen.append(policy)
        return real(path, policy)

    monkeypatch.setattr(loader, "load_file", spy)
    ZoneSource([zone_file]).load()
    assert seen and all(p == LONG_RUNNING.refined() for p in seen)  # its refine runs the cross-zone rules
    seen.clear()
    DNSTestServer().load(zone_file)
    assert seen and all(not p.one_shot and not p.fork for p in seen)
