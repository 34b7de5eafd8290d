"""Where a chaos test's worker stops, so the test can kill it at a known point in the middle of a task.

CHAOS_PAUSE="point:n" stops the process the n-th time it reaches `point`: it writes the file CHAOS_MARKER
and sleeps until killed. The points: "clocks" (the clock sweep is about to run the n-th dispute's clocks,
inside the chunk's transaction), "swept" (every sweep has run and committed; the task is not yet
acknowledged), "mail_before" and "mail_after" (the mail server has not / has taken the n-th email)."""

import os
import time
from collections import Counter
from pathlib import Path

_reached: Counter = Counter()


def at(point: str) -> None:
    wanted, _, nth = os.environ.get("CHAOS_PAUSE", "").partition(":")
    if point != wanted:
        return
    _reached[point] += 1
    if _reached[point] == int(nth or 1):
        Path(os.environ["CHAOS_MARKER"]).write_text(f"{point}:{nth} pid={os.getpid()}")
        time.sleep(3600)  # until the test kills the process


def install() -> None:
    """Put the sweep's pause points in (the mail points are in the sink itself)."""
    from disputes import sweeps, tasks

    run_clocks, run_all_sweeps = sweeps.run_clocks, tasks.run_all_sweeps

    def clocks_then_pause(*args, **kwargs):
        at("clocks")
        return run_clocks(*args, **kwargs)

    def sweeps_then_pause(*args, **kwargs):
        counts = run_all_sweeps(*args, **kwargs)
        at("swept")
        return counts

    sweeps.run_clocks = clocks_then_pause
    tasks.run_all_sweeps = sweeps_then_pause
