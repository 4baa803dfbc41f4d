"""The rate controller, driven by a fake clock (sleep advances it; no real waiting)."""

from __future__ import annotations

import asyncio

import pytest

from syncer.reevo.pacing import PacingClosed, RateController


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def make(clock: FakeClock, **kw) -> RateController:
    kw.setdefault("initial_rate", 10.0)
    return RateController(clock=clock, sleep=clock.sleep, rng=lambda: 0.5, **kw)


def run(coro):
    return asyncio.run(coro)


def test_bucket_paces_to_the_rate():
    clock = FakeClock()
    pacer = make(clock, initial_rate=10.0)

    async def go() -> float:
        start = clock.now
        for _ in range(51):
            await pacer.acquire()
        return clock.now - start

    # 1 token in the bucket at start, then 10/s: 50 more take 5 s
    assert run(go()) == pytest.approx(5.0, rel=0.02)


def test_slow_start_rises_while_requests_succeed():
    clock = FakeClock()
    pacer = make(clock, initial_rate=10.0)

    async def go() -> None:
        for _ in range(200):
            await pacer.acquire()
            pacer.on_success()

    run(go())
    assert pacer.slow_start
    assert pacer.rate > 40.0


def test_max_rate_caps_and_can_change_at_run_time():
    clock = FakeClock()
    pacer = make(clock, initial_rate=10.0, max_rate=20.0)
    for _ in range(100):
        pacer.on_success()
    assert pacer.rate == 20.0
    pacer.set_max_rate(5.0)
    assert pacer.rate == 5.0
    pacer.set_max_rate(None)
    pacer.on_success()
    assert pacer.rate > 5.0


def test_throttle_cuts_once_per_window_by_beta():
    clock = FakeClock()
    pacer = make(clock, initial_rate=100.0)
    pacer.on_throttle(None)
    assert pacer.rate == pytest.approx(70.0)
    pacer.on_throttle(None)  # same window: no second cut
    assert pacer.rate == pytest.approx(70.0)
    assert pacer.cuts == 1 and pacer.throttles == 2
    clock.now += 1.5
    pacer.on_throttle(None)
    assert pacer.cuts == 2
    assert pacer.rate < 70.0


def test_cubic_recovery_returns_to_w_max():
    clock = FakeClock()
    pacer = make(clock, initial_rate=100.0)
    pacer.on_throttle(None)
    assert not pacer.slow_start
    # K = cbrt(100 * 0.3 / 0.4) ~= 4.2 s: by then the rate is back at w_max = 100
    k = (100 * 0.3 / 0.4) ** (1 / 3)

    async def go() -> None:
        while clock.now < 1000.0 + k:
            await pacer.acquire()
            pacer.on_success()

    run(go())
    assert pacer.rate == pytest.approx(100.0, rel=0.05)


def test_no_rise_while_using_less_than_half():
    clock = FakeClock()
    pacer = make(clock, initial_rate=100.0)
    # answers trickle in at 2/s (e.g. concurrency-bound): the rate may not run away
    for _ in range(40):
        clock.now += 0.5
        pacer._sent.record(clock.now)  # one send per half second
        pacer.on_success()
    assert pacer.rate <= 100.0 + 2.0


def test_gate_holds_every_caller_until_retry_after():
    clock = FakeClock()
    pacer = make(clock, initial_rate=1000.0, gate_jitter_s=0.2)
    times: list[float] = []

    async def caller() -> None:
        await pacer.acquire()
        times.append(clock.now)

    async def go() -> None:
        pacer.on_throttle(3.0)  # 3 s + 0.5 * 0.2 s jitter
        await asyncio.gather(*(caller() for _ in range(5)))

    start = clock.now
    run(go())
    assert min(times) - start >= 3.1 - 1e-9


def test_close_releases_waiters():
    clock = FakeClock()
    pacer = make(clock, initial_rate=1.0)

    async def go() -> None:
        await pacer.acquire()
        pacer.on_throttle(60.0)
        pacer.close()
        with pytest.raises(PacingClosed):
            await pacer.acquire()

    run(go())


def test_cut_uses_the_measured_accepted_rate_and_settles_below_it():
    clock = FakeClock()
    pacer = make(clock, initial_rate=150.0)
    pacer.slow_start = False  # past the ramp: measure over the full 2 s window
    # the server took 100 answers/s for 3 s while we sent at 150
    for _ in range(300):
        clock.now += 0.01
        pacer.on_success()
    pacer._rate = 150.0
    pacer.on_throttle(1.0)
    assert pacer.rate == pytest.approx(0.9 * 100, rel=0.03)  # known_beta x accepted
    # recovery stops at settle x w_max for the hold period
    for _ in range(int((pacer._k + 2.0) / 0.01)):
        clock.now += 0.01
        pacer._answers.clear()  # keep the measurement out of it
        pacer.on_success()
    assert pacer.rate == pytest.approx(0.96 * 100, rel=0.03)


def test_the_same_limit_found_again_doubles_the_hold():
    clock = FakeClock()
    pacer = make(clock, initial_rate=100.0)
    pacer.on_throttle(None)
    first = pacer.hold_s
    clock.now += 2.0
    pacer._rate = 100.0
    pacer.on_throttle(None)
    assert pacer.hold_s == 2 * first
    clock.now += 2.0
    pacer._rate = 400.0  # a very different limit: start probing at the short hold again
    pacer.on_throttle(None)
    assert pacer.hold_s == first


def test_no_measurement_across_a_gate():
    clock = FakeClock()
    pacer = make(clock, initial_rate=100.0)
    for _ in range(300):
        clock.now += 0.01
        pacer.on_success()
    pacer.on_throttle(1.0)
    clock.now += 1.5  # gate open again, but the last 2 s hold 1 s of silence
    assert pacer.accepted_rate(clock.now) is None
