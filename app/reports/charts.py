"""Small pure-Python SVG line charts for the reports (no Qt, no matplotlib): drift over time, a metric per version.

The SVG uses only elements and presentation attributes that both browsers and QtSvg (SVG Tiny 1.2) draw
the same way: rect, line, polyline, circle, text. Every piece of text is escaped, since titles and axis
labels can carry user-supplied names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape

__all__ = ["ChartSpec", "render_svg", "CHART_WIDTH", "CHART_HEIGHT"]

CHART_WIDTH, CHART_HEIGHT = 680, 230
_MARKERS_ALL = 150  # up to this many points every point gets a dot; beyond it only highlighted ones
_MARKED_MAX = 3000  # even highlighted dots stop here; the line still passes through every point

_INK, _GRID, _LINE, _MARK, _THRESH, _MUTED = "#1d2733", "#dfe3e8", "#1f5fa8", "#b42318", "#b54708", "#5b6775"


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """One series; `x_labels` empty means xs are epoch seconds (a time axis), else categories 0..n-1."""

    title: str
    y_label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    x_labels: tuple[str, ...] = ()
    series_label: str = ""
    marked: tuple[bool, ...] = ()
    marked_label: str = ""
    errors: tuple[float | None, ...] = ()  # half-width of an interval around each y, or None
    errors_label: str = ""
    threshold: float | None = None
    threshold_label: str = ""
    y_range: tuple[float, float] | None = None  # fixed range (e.g. 0..1 for shares); None = fit the data
    y_ceiling: float | None = None  # a fitted range never goes above this (a score cannot exceed 1)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(1, target)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def _y_bounds(spec: ChartSpec) -> tuple[float, float]:
    if spec.y_range is not None:
        return spec.y_range
    values = [y for y in spec.ys if math.isfinite(y)]
    for y, err in zip(spec.ys, spec.errors or (), strict=False):
        if err is not None and math.isfinite(y):
            values += [y - err, y + err]
    if spec.threshold is not None:
        values.append(spec.threshold)
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        pad = abs(hi) * 0.05 or 0.5
        lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo, 4)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if spec.y_ceiling is not None and hi > spec.y_ceiling:
        hi = max(spec.y_ceiling, lo + step)
    return lo, hi


def _fmt_tick(value: float, step: float) -> str:
    # As many decimals as the step needs (0.25 needs two), so no two ticks print alike.
    decimals = next((d for d in range(7) if abs(round(step, d) - step) < step * 1e-6), 6)
    return f"{value:,.{decimals}f}"


def _time_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    span = hi - lo
    fmt = "%Y-%m-%d" if span > 3 * 86400 else "%m-%d %H:%M"
    count = 5 if span > 0 else 1
    return [(lo + span * i / max(1, count - 1),
             datetime.fromtimestamp(lo + span * i / max(1, count - 1), UTC).strftime(fmt)) for i in range(count)]


def render_svg(spec: ChartSpec, *, width: int = CHART_WIDTH, height: int = CHART_HEIGHT,
               font_family: str = "DejaVu Sans, Helvetica, Arial, sans-serif", xmlns: bool = True) -> str:
    """The chart as one self-contained <svg> element (an empty frame with a note when there are no points).

    Inline SVG in HTML needs no namespace declaration; leaving it out keeps every URL out of the HTML.
    """
    font = _e(font_family)
    ns = ' xmlns="http://www.w3.org/2000/svg"' if xmlns else ""
    left, right, top, bottom = 58, 16, 30, 44
    pw, ph = width - left - right, height - top - bottom
    out = [f'<svg{ns} version="1.1" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(spec.title)}" '
           f'font-family="{font}" font-size="11" font-weight="normal">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff" stroke="none"/>',
           f'<text x="{left}" y="18" font-size="12" font-weight="bold" fill="{_INK}">{_e(spec.title)}</text>']
    if not spec.x_labels and list(spec.xs) != sorted(spec.xs):  # a time line must run left to right
        order = sorted(range(len(spec.xs)), key=spec.xs.__getitem__)
        pick = lambda seq: tuple(seq[i] for i in order) if seq else seq  # noqa: E731
        spec = replace(spec, xs=pick(spec.xs), ys=pick(spec.ys), marked=pick(spec.marked), errors=pick(spec.errors))
    points = [(x, y) for x, y in zip(spec.xs, spec.ys, strict=True) if math.isfinite(y)]
    dense = len(points) > _MARKERS_ALL
    if not points:
        out.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="{_MUTED}">'
                   "No data points</text></svg>")
        return "".join(out)
    y_lo, y_hi = _y_bounds(spec)
    category = bool(spec.x_labels)
    if category:
        x_lo, x_hi = -0.5, len(spec.x_labels) - 0.5
    else:
        x_lo, x_hi = min(spec.xs), max(spec.xs)
        if x_hi - x_lo < 1:
            x_lo, x_hi = x_lo - 86400, x_hi + 86400

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * pw

    def py(y: float) -> float:
        y = min(max(y, y_lo), y_hi)
        return top + ph - (y - y_lo) / (y_hi - y_lo) * ph

    # Grid and y ticks.
    step = _nice_step(y_hi - y_lo, 4)
    tick = math.ceil(y_lo / step - 1e-9) * step  # ticks on multiples of the step, inside the range
    while tick <= y_hi + step * 1e-6:
        y = py(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="{_GRID}" stroke-width="1"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_MUTED}">'
                   f'{_fmt_tick(tick, step)}</text>')
        tick += step
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="{_MUTED}" stroke-width="1"/>'
               f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="{_MUTED}" stroke-width="1"/>')
    # X ticks: every category (thinned when crowded) or five dates.
    if category:
        every = max(1, math.ceil(len(spec.x_labels) / 12))
        ticks = [(float(i), label) for i, label in enumerate(spec.x_labels) if i % every == 0]
    else:
        ticks = _time_ticks(x_lo, x_hi)
    for i, (x, label) in enumerate(ticks):
        anchor = "middle" if category else ("start" if i == 0 else "end" if i == len(ticks) - 1 else "middle")
        out.append(f'<line x1="{px(x):.1f}" y1="{top + ph}" x2="{px(x):.1f}" y2="{top + ph + 4}" stroke="{_MUTED}"/>'
                   f'<text x="{px(x):.1f}" y="{top + ph + 16}" text-anchor="{anchor}" fill="{_MUTED}">'
                   f'{_e(label)}</text>')
    out.append(f'<text x="14" y="{top + ph / 2:.0f}" text-anchor="middle" fill="{_MUTED}" '
               f'transform="rotate(-90 14 {top + ph / 2:.0f})">{_e(spec.y_label)}</text>')
    # Threshold as a dashed line.
    if spec.threshold is not None and y_lo <= spec.threshold <= y_hi:
        y = py(spec.threshold)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="{_THRESH}" '
                   'stroke-width="1.5" stroke-dasharray="6,4"/>')
    # Error bars, the line, then the dots on top.
    for (x, y), err in zip(zip(spec.xs, spec.ys, strict=True), spec.errors or (), strict=False):
        if err is not None and math.isfinite(y) and err > 0:
            x0 = px(x)
            out.append(f'<line x1="{x0:.1f}" y1="{py(y - err):.1f}" x2="{x0:.1f}" y2="{py(y + err):.1f}" '
                       f'stroke="{_LINE}" stroke-width="1"/>'
                       + "".join(f'<line x1="{x0 - 4:.1f}" y1="{py(end):.1f}" x2="{x0 + 4:.1f}" y2="{py(end):.1f}" '
                                 f'stroke="{_LINE}"/>' for end in (y - err, y + err)))
    coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
    if len(points) > 1:
        out.append(f'<polyline points="{coords}" fill="none" stroke="{_LINE}" '
                   f'stroke-width="{0.8 if dense else 1.6}"/>')
    marked = spec.marked or (False,) * len(spec.xs)
    plain_dots = not dense
    radius = 2.4 if dense else 4.5  # thousands of batches: small marks, or they hide the line
    shown = 0
    for x, y, hit in zip(spec.xs, spec.ys, marked, strict=True):
        if not math.isfinite(y):
            continue
        if hit and shown < _MARKED_MAX:
            shown += 1
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="{radius}" fill="{_MARK}"/>')
        elif plain_dots:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.8" fill="{_LINE}"/>')
    out.append(_legend(spec, width, top, right))
    out.append("</svg>")
    return "".join(out)


def _legend(spec: ChartSpec, width: int, top: int, right: int) -> str:
    """Legend entries right-aligned on the title line; widths estimated from the text length."""
    items: list[tuple[str, str]] = []
    if spec.series_label:
        items.append(("line", spec.series_label))
    if spec.errors_label and any(e for e in spec.errors):
        items.append(("bar", spec.errors_label))
    if spec.marked_label and any(spec.marked):
        items.append(("dot", spec.marked_label))
    if spec.threshold is not None and spec.threshold_label:
        items.append(("dash", spec.threshold_label))
    out, x = [], width - right
    y = top - 14
    for kind, label in reversed(items):
        x -= len(label) * 6.0 + 4
        out.append(f'<text x="{x:.1f}" y="{y + 4}" fill="{_INK}" font-size="10">{_e(label)}</text>')
        x -= 22
        if kind == "line":
            out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x + 18:.1f}" y2="{y}" stroke="{_LINE}" stroke-width="2"/>')
        elif kind == "bar":
            out.append(f'<line x1="{x + 9:.1f}" y1="{y - 5}" x2="{x + 9:.1f}" y2="{y + 5}" stroke="{_LINE}"/>')
        elif kind == "dot":
            out.append(f'<circle cx="{x + 9:.1f}" cy="{y}" r="4.5" fill="{_MARK}"/>')
        else:
            out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x + 18:.1f}" y2="{y}" stroke="{_THRESH}" '
                       'stroke-width="1.5" stroke-dasharray="6,4"/>')
        x -= 12
    return "".join(out)
