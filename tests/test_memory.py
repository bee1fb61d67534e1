"""Pausing the cyclic garbage collector around bulk work."""

from __future__ import annotations

import gc
import threading

from billing.memory import paused_collection


def test_pause_nests_and_resumes() -> None:
    assert gc.isenabled()
    with paused_collection():
        assert not gc.isenabled()
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_resumes_after_error() -> None:
    try:
        with paused_collection():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()


def test_pause_keeps_collection_off_when_it_was() -> None:
    gc.disable()
    try:
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_across_threads() -> None:
    inside = threading.Barrier(2)
    first_done = threading.Event()
    states: list[bool] = []

    def first() -> None:
        with paused_collection():
            inside.wait()
        first_done.set()

    def second() -> None:
        with paused_collection():
            inside.wait()
            first_done.wait(5)
            # The other block has ended, and this one still holds the pause.
            states.append(gc.isenabled())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert states == [False]
    assert gc.isenabled()


def test_decorated_function_paused() -> None:
    @paused_collection()
    def work() -> bool:
        return gc.isenabled()

    assert work() is False
    assert work() is False
    assert gc.isenabled()
