"""When to try again, when to give up, and when to stop calling a portal for a while: pure functions of the
settings and the counts, so the schedule is tested without clocks or servers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.settings import Settings

JITTER = 0.1  # ±10 %: retries of many events for one portal do not all arrive in the same second


@dataclass(frozen=True)
class RetryPolicy:
    delays: tuple[float, ...]  # seconds before retry n (n = 1 .. len), already scaled

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        delays = tuple(float(x) * settings.delivery_time_scale for x in settings.delivery_retry_schedule.split(","))
        return cls(delays)

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    @property
    def horizon(self) -> timedelta:
        """How long an event is retried: past this it is dead-lettered even if its portal was never reachable."""
        return timedelta(seconds=sum(self.delays))

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
        """After ``attempts`` failed attempts: when to try again, or None to dead-letter."""
        if attempts >= self.max_attempts:
            return None
        delay = self.delays[attempts - 1]
        spread = (rng or random).uniform(-JITTER, JITTER) * delay
        return now + timedelta(seconds=delay + spread)


@dataclass(frozen=True)
class Breaker:
    threshold: int
    cooldown: float
    max_cooldown: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Breaker:
        scale = settings.delivery_time_scale
        return cls(
            settings.delivery_breaker_threshold,
            settings.delivery_breaker_cooldown_seconds * scale,
            settings.delivery_breaker_max_cooldown_seconds * scale,
        )

    def open_until(self, consecutive_failures: int, now: datetime) -> datetime | None:
        """Closed below the threshold; then open, twice as long after each failed probe, up to the maximum."""
        if consecutive_failures < self.threshold:
            return None
        doublings = min(consecutive_failures - self.threshold, 16)
        return now + timedelta(seconds=min(self.cooldown * 2**doublings, self.max_cooldown))

    def half_open(self, consecutive_failures: int) -> bool:
        """After a cool-down, one event probes the portal before the rest follow."""
        return consecutive_failures >= self.threshold
