"""`within`: asyncio.timeout's behaviour, with one shared timer per loop instead of one per bound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import uvloop

from foundation import deadline
from foundation.deadline import RESOLUTION, within

Run = Callable[[Awaitable[object]], object]
LOOPS = {"asyncio": asyncio.run, "uvloop": uvloop.run}


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Run:
    """Run a coroutine on a fresh loop of each kind, bounded so a broken deadline cannot hang the suite."""

    def bounded(work: Awaitable[object]) -> object:
        async def guarded() -> object:
            async with asyncio.timeout(10):
                return await work

        return LOOPS[request.param](guarded())

    return bounded


def open_bounds() -> int:
    return len(deadline._ticker().open)


def test_a_block_that_finishes_in_time_is_untouched_and_unregistered(run):
    async def main() -> tuple[str, int, int]:
        async with within(5) as bound:
            await asyncio.sleep(0)
            inside = open_bounds()
        assert not bound.expired
        return "done", inside, open_bounds()

    assert run(main()) == ("done", 1, 0)


def test_a_block_past_its_deadline_raises_timeout_and_cancels_what_it_awaited(run):
    async def main() -> tuple[bool, bool, int, float]:
        loop = asyncio.get_running_loop()
        sleeper = asyncio.ensure_future(asyncio.sleep(30))
        started = loop.time()
        with pytest.raises(TimeoutError):
            async with within(0.1):
                await sleeper
        waited = loop.time() - started
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0)  # no cancellation is left pending on the task
        return sleeper.cancelled(), task.cancelling() == 0, open_bounds(), waited

    cancelled, clean, left, waited = run(main())
    assert (cancelled, clean, left) == (True, True, 0)
    assert 0.1 <= waited < 5  # fired, and not before its deadline


def test_another_cancellation_inside_the_block_stays_a_cancellation(run):
    async def main() -> str:
        async def victim() -> None:
            async with within(30):
                await asyncio.sleep(30)

        task = asyncio.ensure_future(victim())
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        except TimeoutError:
            return "timeout"
        return "finished"

    assert run(main()) == "cancelled"


def test_an_inner_bound_expiring_leaves_the_outer_one_running(run):
    async def main() -> list[str]:
        steps = []
        async with within(30) as outer:
            try:
                async with within(0.05):
                    await asyncio.sleep(30)
            except TimeoutError:
                steps.append("inner timed out")
            await asyncio.sleep(0.01)
            steps.append("outer still running")
        steps.append(f"outer expired: {outer.expired}")
        return steps

    assert run(main()) == ["inner timed out", "outer still running", "outer expired: False"]


def test_many_bounds_expire_together_and_the_timer_stops_once_none_is_open(run):
    async def main() -> tuple[int, int, bool]:
        async def bounded() -> str:
            try:
                async with within(0.05):
                    await asyncio.sleep(30)
            except TimeoutError:
                return "timeout"
            return "finished"

        outcomes = await asyncio.gather(*(bounded() for _ in range(500)))
        await asyncio.sleep(RESOLUTION * 3)  # let the ticker run once more and see nothing open
        return outcomes.count("timeout"), open_bounds(), deadline._ticker().handle is None

    assert run(main()) == (500, 0, True)
