"""Phase timings for batch jobs: ``laps = Laps(); ...; laps("read"); ...; laps.timings``."""

from __future__ import annotations

import time


class Laps:
    """Seconds spent in each phase since the previous lap (or since creation)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._clock, 3)
        self._clock = now
