"""auditor.gcpause: the collector is off inside a pause and back to its earlier state after it."""

from __future__ import annotations

import gc
from importlib import resources
from pathlib import Path

import pytest

from auditor import config as config_module
from auditor.gcpause import collector_paused
from auditor.run import run_pass


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_nested_pause_leaves_the_outer_one_in_force() -> None:
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_restores_the_collector() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the pass failed")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_pass_pauses_the_collector_and_gives_it_back(tmp_path: Path) -> None:
    """The service runs pass after pass in one process: each must leave the collector as it was."""
    sample = Path(str(resources.files("auditor.sample"))) / "auditor.toml"
    config = config_module.load_config(sample).model_copy(
        update={"store": config_module.StoreConfig(url=f"sqlite:///{tmp_path / 'history.db'}")}
    )
    during: list[bool] = []
    result = run_pass(config, with_diff=False, on_result=lambda _result: during.append(gc.isenabled()))
    assert result.run.checks, "the sample pass ran no check"
    assert during == [False]
    assert gc.isenabled()


class _Node:
    """A container the collector tracks; `other` makes a cycle when asked."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def test_what_a_pause_allocated_goes_to_the_oldest_generation_untraversed() -> None:
    gc.collect()
    with collector_paused():
        kept = [_Node() for _ in range(20_000)]
    young = gc.get_count()[0]
    assert young < 1_000  # not left in the youngest generation, to be traversed at the next allocation
    assert gc.get_freeze_count() == 0
    assert any(node is kept[0] for node in gc.get_objects(generation=2))


def test_cyclic_garbage_made_in_a_pause_is_still_collected() -> None:
    with collector_paused():
        first, second = _Node(), _Node()
        first.other, second.other = second, first
        del first, second
    assert gc.collect() >= 2  # the cycle is found by a full collection, as without the pause


def test_objects_a_host_froze_stay_frozen() -> None:
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            _ = [_Node() for _ in range(1_000)]
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
