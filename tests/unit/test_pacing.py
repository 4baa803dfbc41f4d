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


# -- resume: start where the org left off (issue 15) ----------------------------------------
def _answer_for(pacer: RateController, clock: FakeClock, seconds: float) -> float:
    """Send and answer at the pacer's rate for ``seconds`` of fake time; the highest rate."""
    top = pacer.rate
    end = clock.now + seconds
    while clock.now < end:
        clock.now += 1.0 / pacer.rate
        pacer._sent.record(clock.now)  # as acquire() counts a send
        pacer.on_success()
        top = max(top, pacer.rate)
    return top


def test_resume_from_a_limit_starts_at_0_9_of_it_and_holds_just_under_it():
    clock = FakeClock()
    pacer = make(clock)
    pacer.resume(200.0, capped=True, hold_s=16.0)
    assert pacer.rate == pytest.approx(180.0)
    assert not pacer.slow_start
    assert pacer.hold_s == 32.0  # the limit is found again: the hold doubles
    # climbs to 0.97 x the limit within K (~3.7 s) and stays there for the hold: no probe
    top = _answer_for(pacer, clock, 30.0)
    assert pacer.rate == pytest.approx(pacer.resume_settle * 200.0, rel=0.01)
    assert pacer.resume_settle == 0.97 and top <= 0.97 * 200.0 + 1e-6
    # after the hold it probes beyond, as after any cut
    _answer_for(pacer, clock, 10.0)
    assert pacer.rate > 200.0


def test_resume_from_a_limit_still_cuts_on_the_first_429_at_once():
    clock = FakeClock()
    pacer = make(clock)
    pacer.resume(200.0, capped=True, hold_s=8.0)
    clock.now += 0.05  # the very first answers: no full window measured yet
    pacer.on_throttle(1.0)
    assert pacer.cuts == 1
    assert pacer.rate == pytest.approx(0.7 * 180.0)  # blind cut of the rate it ran at
    assert pacer.gate_until > clock.now


def test_resume_never_exceeds_max_rate():
    clock = FakeClock()
    pacer = make(clock, max_rate=50.0)
    pacer.resume(200.0, capped=True)
    assert pacer.rate == 50.0
    _answer_for(pacer, clock, 20.0)
    assert pacer.rate == 50.0
    floor = make(clock, max_rate=50.0)
    floor.resume(300.0, capped=False)
    assert floor.rate == 50.0


def test_resume_from_a_floor_slow_starts_from_it():
    clock = FakeClock()
    pacer = make(clock)
    pacer.resume(120.0, capped=False)
    assert pacer.rate == 120.0 and pacer.slow_start
    _answer_for(pacer, clock, 1.0)
    assert pacer.rate > 120.0  # still climbing until the first 429
    pacer.on_throttle(1.0)
    assert not pacer.slow_start and pacer.cuts == 1


def test_measurement_limit_floor_or_none():
    clock = FakeClock()
    pacer = make(clock, initial_rate=100.0, max_rate=100.0)
    assert pacer.measurement() is None  # nothing answered yet
    _answer_for(pacer, clock, 0.5)
    assert pacer.measurement() is None  # no full window of answers yet
    _answer_for(pacer, clock, 2.5)
    floor = pacer.measurement()
    assert floor is not None and not floor.capped
    assert floor.rate == pytest.approx(100.0, rel=0.05)  # what the server took, no 429
    pacer.on_throttle(1.0)  # measured over a clean 2 s window
    limit = pacer.measurement()
    assert limit is not None and limit.capped and limit.hold_s == pacer.hold_s
    assert limit.rate == pytest.approx(100.0, rel=0.05)


def test_measurement_confirms_a_remembered_limit_the_run_ran_close_to():
    clock = FakeClock()
    pacer = make(clock)
    pacer.resume(200.0, capped=True, hold_s=16.0)
    _answer_for(pacer, clock, 10.0)
    kept = pacer.measurement()
    assert kept is not None and (kept.rate, kept.capped, kept.hold_s) == (200.0, True, 32.0)
    # held far below it (--max-rate): only a floor, which does not confirm the limit
    capped = make(clock, max_rate=50.0)
    capped.resume(200.0, capped=True)
    _answer_for(capped, clock, 5.0)
    floor = capped.measurement()
    assert floor is not None and not floor.capped and floor.rate <= 55.0


def test_measurement_after_blind_cuts_only_is_the_rate_the_429_came_at():
    clock = FakeClock()
    pacer = make(clock)
    pacer.resume(200.0, capped=True)  # remembered, but the limit fell: 429s at once
    pacer.on_throttle(1.0)
    clock.now += 1.5
    pacer.on_throttle(1.0)
    kept = pacer.measurement()
    assert kept is not None and kept.capped  # it replaces the remembered limit
    assert kept.rate == pytest.approx(0.7 * 180.0)  # w_max of the last (blind) cut


def test_measurement_keeps_the_highest_limit_a_measured_cut_found_past_slow_start():
    clock = FakeClock()
    pacer = make(clock, initial_rate=100.0, max_rate=100.0)
    _answer_for(pacer, clock, 2.5)
    pacer.on_throttle(1.0)  # slow start's cut: measured over half a window, not kept as best
    for limit in (100.0, 80.0):  # then the server took 100/s, later 80/s (a stall)
        pacer.set_max_rate(limit)
        clock.now += 2.5  # past the gate
        pacer._answers.clear()
        _answer_for(pacer, clock, 2.5)
        pacer._rate = limit
        pacer.on_throttle(1.0)
    kept = pacer.measurement()
    assert kept is not None and kept.capped
    assert kept.rate == pytest.approx(100.0, rel=0.05)  # not the last (80): the highest
