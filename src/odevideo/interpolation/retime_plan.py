"""The numbers and the output grid of a retiming, times as exact fractions (see
:mod:`odevideo.interpolation.retime`)."""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from odevideo.data.video_io.formats import ReadLimits
from odevideo.errors import InputError
from odevideo.interpolation.retime_input import VideoProbe

#: Largest rate, factor or slow-motion factor accepted (a bigger one is a typo; the output-frame limit also applies).
MAX_RATE = 100_000
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")

# ---------------------------------------------------------------------------------------------------------------
# numbers


def _fraction(value: Any, what: str, fix: str) -> Fraction:
    """A finite number (int, float, Fraction, or a decimal / ``a/b`` string) as an exact Fraction."""
    if isinstance(value, bool):
        raise InputError(f"{what} {value!r} is not a number; {fix}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{what} {value} is not finite; {fix}")
        return Fraction(repr(value))  # the decimal the user typed (0.1 -> 1/10), not the binary float
    if isinstance(value, str):
        text = value.strip()
        parts = [p.strip() for p in text.split("/")]
        if len(parts) in (1, 2) and all(_NUMBER.fullmatch(p) for p in parts):
            num = Fraction(parts[0])
            den = Fraction(parts[1]) if len(parts) == 2 else Fraction(1)
            if den == 0:
                raise InputError(f"{what} {text}: division by zero; {fix}")
            return num / den
        raise InputError(f"{what} {value!r} is not a number (e.g. 60, 59.94 or 30000/1001); {fix}")
    raise InputError(f"{what} must be a number, got {type(value).__name__}; {fix}")


def parse_positive(value: Any, what: str) -> Fraction:
    fix = f"give a number > 0 and <= {MAX_RATE}"
    r = _fraction(value, what, fix)
    if not 0 < r <= MAX_RATE:
        raise InputError(f"{what} {float(r):g} is out of range; {fix}")
    return r


def parse_rate(value: Any, what: str = "fps") -> Fraction:
    """A frame rate as an exact fraction: ``60``, ``59.94``, ``"30000/1001"``, ``"2997/50"``.

    A decimal within 0.0005 of an NTSC rate ``N * 1000 / 1001`` (23.976, 29.97, 59.94, 119.88, ...) is read as that
    rate; write the fraction (``2997/50``) for the decimal itself."""
    r = parse_positive(value, what)
    is_decimal = not isinstance(value, Fraction) and not (isinstance(value, str) and "/" in value)
    if is_decimal and r.denominator != 1:
        n = round(r * Fraction(1001, 1000))
        ntsc = Fraction(n * 1000, 1001)
        if n >= 1 and abs(r - ntsc) < Fraction(1, 2000):
            return ntsc
    return r


def parse_seconds(value: Any, what: str) -> Fraction:
    """A time in seconds >= 0 (decimal, fraction or number) as an exact fraction."""
    fix = "give seconds >= 0, e.g. 1.5"
    r = _fraction(value, what, fix)
    if r < 0 or r > 10**9:
        raise InputError(f"{what} {float(r):g} s is out of range; {fix}")
    return r


# ---------------------------------------------------------------------------------------------------------------
# the plan


@dataclass(frozen=True)
class RetimePlan:
    """The output grid: frame ``j`` shows the input at ``start + j * step`` and is written at ``j / rate``."""

    mode: str
    step: Fraction
    rate: Fraction
    start: Fraction
    end: Fraction
    count: int

    def time(self, j: int) -> Fraction:
        return self.start + j * self.step


def plan_retime(probe: VideoProbe, *, fps: Any = None, factor: Any = None, slowmo: Any = None, start: Any = None,
                end: Any = None, fill_missing: bool = False, limits: ReadLimits | None = None) -> RetimePlan:
    """The output grid for one of ``fps``, ``factor``, ``slowmo``, ``fill_missing`` (see the module docstring)."""
    limits = limits or ReadLimits()
    given = [name for name, v in (("fps", fps), ("factor", factor), ("slowmo", slowmo)) if v is not None]
    if fill_missing:
        given.append("fill_missing")
    if len(given) != 1:
        raise InputError(f"give exactly one of fps, factor, slowmo, fill_missing (got {', '.join(given) or 'none'}); "
                         f"fill_missing keeps the input's rate, and the others fill gaps on their own grid anyway")
    mode = given[0]
    if fps is not None:
        rate = parse_rate(fps, "fps")
        step = 1 / rate
    elif factor is not None:
        rate = probe.fps * parse_positive(factor, "factor")
        step = 1 / rate
    elif slowmo is not None:
        rate = probe.fps
        step = 1 / (probe.fps * parse_positive(slowmo, "slowmo"))
    else:
        rate = probe.fps
        step = 1 / rate
    if mode != "slowmo" and (rate.denominator > 1001 or rate.numerator > 1 << 20):
        rate = rate.limit_denominator(1001)  # encoders need a small time base; the grid follows the written rate
        step = 1 / rate
    duration = probe.duration
    t_start = Fraction(0) if start is None else parse_seconds(start, "start")
    t_end = duration if end is None else parse_seconds(end, "end")
    if end is not None and t_end <= t_start:
        raise InputError(f"start {float(t_start):g} s is not before end {float(t_end):g} s; give start < end")
    if t_start >= duration:
        raise InputError(f"start {float(t_start):g} s is at or after the end of {probe.path} "
                         f"({float(duration):.3f} s); give an earlier start")
    t_end = min(t_end, duration)
    in_range = bisect_left(probe.times, t_end) - bisect_left(probe.times, t_start)
    if in_range < 2:
        what = "is only one frame" if in_range == 1 else "are no frames"
        raise InputError(f"there {what} of {probe.path} in [{float(t_start):g}, {float(t_end):g}) s "
                         f"({len(probe.times)} in all); retiming needs two or more; widen start / end or use a longer "
                         f"video")
    count = math.ceil((t_end - t_start) / step)
    if count > limits.frames:
        raise InputError(f"the output would have {count} frames, more than the limit of {limits.frames}; ask for a "
                         f"lower rate or a shorter range, or pass limits=ReadLimits(frames=...)")
    return RetimePlan(mode, step, rate, t_start, t_end, count)


