"""Capture sampling is honoured within binomial tolerance (seeded RNG)."""

from __future__ import annotations

import math

import pytest

from pitwall.monitoring.capture import Sampler


@pytest.mark.parametrize("percent", [5.0, 25.0, 50.0, 90.0])
def test_sampling_rate_within_binomial_tolerance(percent: float) -> None:
    n, p = 20_000, percent / 100
    sampler = Sampler(seed=int(percent))
    kept = sum(sampler.keep(p) for _ in range(n))
    sd = math.sqrt(n * p * (1 - p))
    assert abs(kept - n * p) < 4 * sd  # a 4-sigma band: fails by chance about once in 16,000 seeds


def test_sampling_extremes_are_exact() -> None:
    s = Sampler(seed=0)
    assert all(s.keep(1.0) for _ in range(1000))
    assert not any(s.keep(0.0) for _ in range(1000))


def test_same_seed_same_decisions() -> None:
    a, b = Sampler(seed=3), Sampler(seed=3)
    assert [a.keep(0.3) for _ in range(200)] == [b.keep(0.3) for _ in range(200)]
