"""Small static SVG charts: a meter's band, forecast, actuals and flagged readings.

Drawn as text, with no chart library: a report needs no extra install, opens
offline, and a 14-day chart of 15-minute readings weighs about 50 KB.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 24, 28
#: Room a day's label takes on the time axis (``Wed 15 Mar`` at font size 11, and a gap).
DAY_LABEL = 84
COLORS = {"band": "#c6dbef", "mean": "#08519c", "actual": "#222222", "flag": "#d62728",
          "event": "#fdd0a2", "grid": "#e5e5e5", "text": "#555555"}  # fmt: skip


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    return [round(first + k * step, 10) for k in range(int((high - first) / step) + 2)]


def meter_chart(
    frame: pd.DataFrame,
    unit: str,
    origin: pd.Timestamp,
    events: list[tuple[float, float]] | None = None,
    title: str = "",
) -> str:
    """An SVG of ``frame``: ``x`` in hours since ``origin`` (a local midnight), and
    ``mean, lower, upper, actual``.

    Flagged readings (actual above the band) are red dots; ``events`` are shaded spans
    ``(start, end)`` in the same hours.
    """
    events = events or []
    x = frame["x"].to_numpy(dtype=float)
    values = frame[["lower", "upper", "mean", "actual"]].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    ticks = nice_ticks(min(low, 0.0), high)
    span = (x.min(), x.max() if x.max() > x.min() else x.min() + 1)

    def sx(v: np.ndarray) -> np.ndarray:
        return LEFT + (v - span[0]) / (span[1] - span[0]) * (WIDTH - LEFT - RIGHT)

    def sy(v: np.ndarray) -> np.ndarray:
        return TOP + (ticks[-1] - v) / (ticks[-1] - ticks[0]) * (HEIGHT - TOP - BOTTOM)

    parts = [f"<svg viewBox='0 0 {WIDTH} {HEIGHT}' class='chart' role='img' "
             f"aria-label='{html.escape(title)}'>"]  # fmt: skip
    parts += _grid(ticks, sy, unit) + _days(span, sx, origin)
    for start, end in events:
        a, b = sx(np.array([start, end]))
        parts.append(f"<rect x='{a:.1f}' y='{TOP}' width='{max(b - a, 1):.1f}' "
                     f"height='{HEIGHT - TOP - BOTTOM}' fill='{COLORS['event']}'/>")  # fmt: skip
    parts.append(_band(sx(x), sy(values[:, 0]), sy(values[:, 1])))
    parts.append(_line(sx(x), sy(values[:, 2]), COLORS["mean"], 1.4))
    parts.append(_line(sx(x), sy(values[:, 3]), COLORS["actual"], 0.9))
    flagged = values[:, 3] > values[:, 1]
    if flagged.any():
        dots = "".join(f"M{a:.1f},{b:.1f}h0" for a, b in
                       zip(sx(x[flagged]), sy(values[flagged, 3]), strict=True))  # fmt: skip
        parts.append(f"<path d='{dots}' stroke='{COLORS['flag']}' stroke-width='4' "
                     "stroke-linecap='round'/>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _grid(ticks: list[float], sy: object, unit: str) -> list[str]:
    out = []
    for tick in ticks:
        y = float(sy(np.array([tick]))[0])  # type: ignore[operator]
        label = (f"<text x='{LEFT - 6}' y='{y + 4:.1f}' text-anchor='end' font-size='11' "
                 f"fill='{COLORS['text']}'>{tick:g}</text>")  # fmt: skip
        out.append(f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' "
                   f"stroke='{COLORS['grid']}'/>{label}")  # fmt: skip
    out.append(f"<text x='{LEFT}' y='{TOP - 10}' font-size='11' fill='{COLORS['text']}' "
               f"class='unit'>{html.escape(unit)}</text>")  # fmt: skip
    return out


def _days(span: tuple[float, float], sx: object, origin: pd.Timestamp) -> list[str]:
    """A tick at each day boundary, and the date at as many as fit without touching
    (``x`` counts hours from ``origin``)."""
    out = []
    first, last = math.ceil(span[0] / 24), math.floor(span[1] / 24)
    per_day = (WIDTH - LEFT - RIGHT) * 24 / (span[1] - span[0])
    step = max(1, math.ceil(DAY_LABEL / per_day))
    for day in range(first, last + 1):
        x = float(sx(np.array([day * 24.0]))[0])  # type: ignore[operator]
        out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' y2='{HEIGHT - BOTTOM}' "
                   f"stroke='{COLORS['grid']}'/>")  # fmt: skip
        if (day - first) % step or x + DAY_LABEL > WIDTH:
            continue
        label = (origin + pd.Timedelta(days=day)).strftime("%a %d %b")
        out.append(f"<text x='{x + 3:.1f}' y='{HEIGHT - 10}' font-size='11' "
                   f"fill='{COLORS['text']}' class='day'>{label}</text>")  # fmt: skip
    return out


def _line(x: np.ndarray, y: np.ndarray, color: str, width: float) -> str:
    return f"<path d='{_path(x, y)}' fill='none' stroke='{color}' stroke-width='{width}'/>"


def _band(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> str:
    """The band as one closed shape per stretch of readings without a jump in time."""
    ok = np.isfinite(lower) & np.isfinite(upper)
    if not ok.any():
        return ""
    xs, lo, up = x[ok], lower[ok], upper[ok]
    step = float(np.median(np.diff(xs))) if len(xs) > 1 else 0.0
    breaks = np.flatnonzero(np.diff(xs) > 1.5 * step) + 1 if step > 0 else []
    shapes = []
    for part in np.split(np.arange(len(xs)), breaks):
        top = np.column_stack([xs[part], up[part]])
        bottom = np.column_stack([xs[part], lo[part]])[::-1]
        points = np.concatenate([top, bottom])
        shapes.append("M" + "L".join(f"{a:.1f},{b:.1f}" for a, b in points) + "Z")
    return f"<path d='{''.join(shapes)}' fill='{COLORS['band']}' stroke='none'/>"


def _path(x: np.ndarray, y: np.ndarray) -> str:
    """Lines through the finite points; a missing value or a jump in time breaks the line."""
    step = float(np.median(np.diff(x))) if len(x) > 1 else 0.0
    out, pen_down, last = [], False, -np.inf
    for a, b in zip(x, y, strict=True):
        if not math.isfinite(b):
            pen_down = False
            continue
        jump = step > 0 and a - last > 1.5 * step
        out.append(f"{'L' if pen_down and not jump else 'M'}{a:.1f},{b:.1f}")
        pen_down, last = True, a
    return "".join(out)
