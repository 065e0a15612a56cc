"""Numba's learning-rate schedule: numpy_unchecked.py scheduled_lr, compiled."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ..names import SCHEDULE_CODE

CONSTANT = SCHEDULE_CODE["constant"]
STEP = SCHEDULE_CODE["step"]
EXPONENTIAL = SCHEDULE_CODE["exponential"]
COSINE = SCHEDULE_CODE["cosine"]
INVSCALING = SCHEDULE_CODE["invscaling"]

# code indexes names.SCHEDULES; the fields are network.ScheduleConfig's.
Schedule = namedtuple("Schedule", "code step_size gamma total_steps warmup_steps min_lr power_t")


@njit(cache=True)
def scheduled_lr(base_lr, schedule, t):
    """The rate of update t (from 1) for a Schedule: float64 maths in the oracle's order (powers
    through np.float64 so both call libm's pow)."""
    s = schedule
    if s.code == STEP:
        return base_lr * s.gamma ** np.float64((t - 1) // s.step_size)
    if s.code == EXPONENTIAL:
        return base_lr * s.gamma ** np.float64(t - 1)
    if s.code == COSINE:
        if t <= s.warmup_steps:
            return base_lr * (np.float64(t) / np.float64(s.warmup_steps))
        progress = min(1.0, np.float64(t - s.warmup_steps) / np.float64(s.total_steps - s.warmup_steps))
        return s.min_lr + (base_lr - s.min_lr) * (1.0 + np.cos(np.pi * progress)) / 2.0
    if s.code == INVSCALING:
        return base_lr / np.float64(t) ** s.power_t
    return base_lr
