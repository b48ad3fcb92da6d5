from __future__ import annotations

from reelflow.engine.throttle import ProgressThrottle


def test_writes_first_value_big_moves_and_small_moves_after_the_interval() -> None:
    now = [0.0]
    throttle = ProgressThrottle(step=1.0, interval=1.0, monotonic=lambda: now[0])
    assert throttle.should_write("a", 0.0)
    assert not throttle.should_write("a", 0.5)
    assert throttle.should_write("a", 1.0)
    assert throttle.should_write("b", 0.5)  # keys are independent
    now[0] = 0.9
    assert not throttle.should_write("a", 1.2)
    now[0] = 1.1
    assert throttle.should_write("a", 1.2)  # a small move, but a second passed
    now[0] = 5.0
    assert not throttle.should_write("a", 1.2)  # no move: nothing to write
    throttle.forget("a")
    assert throttle.should_write("a", 1.2)
