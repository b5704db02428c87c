"""The operator's single timer: earliest time wins, cancel, due order, no polling."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from kasset.operator.model.timers import Timers, UnknownTimerError


def test_keys_fire_in_time_order_and_keep_their_earliest_time() -> None:
    timers = Timers()
    timers.schedule("b", 20)
    timers.schedule("a", 10)
    timers.schedule("a", 15)  # later: ignored
    timers.schedule("b", 5)  # earlier: wins
    assert timers.next_time() == 5
    assert timers.due(12) == ["b", "a"]
    assert timers.due(100) == []


def test_a_canceled_key_does_not_fire() -> None:
    timers = Timers()
    timers.schedule("a", 1)
    timers.cancel("a")
    assert timers.next_time() is None and timers.due(2) == []


def test_the_task_sleeps_until_the_next_key_and_wakes_for_an_earlier_one() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        timers = Timers()
        fired: list[object] = []
        task = loop.create_task(timers.run(loop.time, fired.append))
        timers.schedule("late", loop.time() + 10)
        await asyncio.sleep(0.01)
        timers.schedule("soon", loop.time() + 0.05)
        await asyncio.sleep(0.2)
        assert fired == ["soon"]
        task.cancel()

    asyncio.run(scenario())


def test_a_due_key_goes_to_the_handler_registered_for_its_type() -> None:
    @dataclass(frozen=True)
    class Flush:
        run: str

    @dataclass(frozen=True)
    class Wake:
        run: str

    timers = Timers()
    flushed: list[Flush] = []
    woken: list[Wake] = []
    timers.on(Flush, flushed.append)
    timers.on(Wake, woken.append)
    timers.schedule(Flush("r1"), 1)
    timers.schedule(Wake("r1"), 2)
    for key in timers.due(5):
        timers.fire(key)
    assert flushed == [Flush("r1")] and woken == [Wake("r1")]


def test_a_key_nobody_registered_is_a_bug_not_a_silent_no_op() -> None:
    timers = Timers()
    timers.schedule(("flush", "r1"), 1)
    (key,) = timers.due(5)
    with pytest.raises(UnknownTimerError, match="no handler registered"):
        timers.fire(key)
