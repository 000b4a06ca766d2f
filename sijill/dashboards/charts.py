"""Server-side SVG charts, accessible without JavaScript.

Every chart is ``<svg role="img" aria-labelledby="…">`` with a ``<title>`` and a ``<desc>``
(what it shows and where the same numbers are as a table), visible labels and values on
every bar, and a ``<title>`` per bar (the browser's tooltip). The page's table carries the
same numbers for screen readers and for copying.

Right to left: with ``rtl=True`` the geometry is mirrored (category labels on the right, bars
growing leftwards, the histogram's axis running from right to left). The SVG's own
``direction`` is fixed to ``ltr`` so that ``text-anchor`` means the same in both, whatever the
page's direction; Arabic text inside a label is still laid out by the bidi algorithm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

COLOURS = ("#0b6e4f", "#b35900", "#33559c", "#7a3d8f")
WIDTH = 720
FONT = "font-family=\"system-ui, 'Noto Sans', 'DejaVu Sans', sans-serif\""


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


@dataclass(frozen=True)
class Marker:
    """A vertical line on a histogram at ``value`` (a programme threshold), with its label."""

    value: float
    label: str


class _Frame:
    """Mirrors x coordinates and text anchors for right-to-left pages."""

    def __init__(self, rtl: bool, width: int = WIDTH):
        self.rtl, self.width = rtl, width

    def x(self, x: float) -> float:
        return self.width - x if self.rtl else x

    def rect_x(self, x: float, w: float) -> float:
        return self.width - x - w if self.rtl else x

    def anchor(self, a: str) -> str:
        if not self.rtl or a == "middle":
            return a
        return "end" if a == "start" else "start"


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def _short(label: str, n: int = 30) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _open(chart_id: str, title: str, desc: str, height: float, rtl: bool) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_t(chart_id)}" role="img" '
        f'aria-labelledby="{_t(chart_id)}-title {_t(chart_id)}-desc" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="100%" direction="ltr" data-rtl="{"true" if rtl else "false"}" {FONT} font-size="13">',
        f'<title id="{_t(chart_id)}-title">{_t(title)}</title>',
        f'<desc id="{_t(chart_id)}-desc">{_t(desc)}</desc>',
    ]


def _legend(parts: list[str], f: _Frame, series: Sequence[Series], y: float) -> None:
    x = 8.0
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<g class="legend-item"><rect x="{f.rect_x(x, 12):.1f}" y="{y - 10:.1f}" width="12" height="12" '
            f'fill="{colour}"/><text x="{f.x(x + 18):.1f}" y="{y:.1f}" text-anchor="{f.anchor("start")}">'
            f"{_t(s.name)}</text></g>"
        )
        x += 40 + 8 * len(s.name)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[float], str],
    rtl: bool = False,
) -> SafeString:
    """Horizontal bars: one group per category, one bar per series, the value at the bar's end."""
    f = _Frame(rtl)
    label_w, value_w, bar_h, gap, group_gap = 210.0, 120.0, 16.0, 3.0, 12.0
    top = 30.0 if len(series) > 1 else 8.0
    group_h = len(series) * (bar_h + gap) - gap
    height = top + len(categories) * (group_h + group_gap) + 8
    peak = max((v for s in series for v in s.values), default=0) or 1
    span = WIDTH - label_w - value_w
    parts = _open(chart_id, title, desc, height, rtl)
    if len(series) > 1:
        _legend(parts, f, series, 18)
    for ci, category in enumerate(categories):
        y0 = top + ci * (group_h + group_gap)
        parts.append(f'<g class="group"><title>{_t(category)}</title>')
        parts.append(
            f'<text class="label" x="{f.x(label_w - 8):.1f}" y="{y0 + group_h / 2 + 4:.1f}" '
            f'text-anchor="{f.anchor("end")}">{_t(_short(category))}</text>'
        )
        for si, s in enumerate(series):
            v = float(s.values[ci] or 0)
            w = max(span * v / peak, 0.0)
            y = y0 + si * (bar_h + gap)
            name = f"{category} · {s.name}" if len(series) > 1 else category
            parts.append(
                f'<rect class="bar" x="{f.rect_x(label_w, w):.1f}" y="{y:.1f}" width="{w:.1f}" '
                f'height="{bar_h:.0f}" fill="{COLOURS[si % len(COLOURS)]}">'
                f"<title>{_t(name)}: {_t(value_text(v))}</title></rect>"
            )
            parts.append(
                f'<text class="value" x="{f.x(label_w + w + 5):.1f}" y="{y + bar_h - 4:.1f}" '
                f'text-anchor="{f.anchor("start")}">{_t(value_text(v))}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def histogram(
    *,
    chart_id: str,
    title: str,
    desc: str,
    edges: Sequence[float],
    counts: Sequence[int],
    edge_text: Callable[[float], str],
    count_text: Callable[[float], str],
    markers: Sequence[Marker] = (),
    rtl: bool = False,
) -> SafeString:
    """Columns over consecutive bins (``edges`` has one more value than ``counts``); the axis
    runs from left to right, or right to left on a right-to-left page."""
    f = _Frame(rtl)
    left, right, top, bottom = 56.0, 16.0, 34.0, 44.0
    height = 300.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    n = max(len(counts), 1)
    col_w = plot_w / n
    peak = max(counts, default=0) or 1
    lo, hi = (edges[0], edges[-1]) if edges else (0.0, 1.0)

    def at(value: float) -> float:
        return left + (value - lo) / ((hi - lo) or 1) * plot_w

    parts = _open(chart_id, title, desc, height, rtl)
    base = top + plot_h
    parts.append(
        f'<line class="axis" x1="{f.x(left):.1f}" y1="{base:.1f}" x2="{f.x(left + plot_w):.1f}" '
        f'y2="{base:.1f}" stroke="#505a69"/>'
    )
    parts.append(
        f'<text class="axis-label" x="{f.x(left - 6):.1f}" y="{top + 4:.1f}" '
        f'text-anchor="{f.anchor("end")}">{_t(count_text(peak))}</text>'
    )
    step = max(1, round(n / 8))
    for i, c in enumerate(counts):
        h = plot_h * c / peak
        x = left + i * col_w
        parts.append(
            f'<rect class="bar" x="{f.rect_x(x + 1, col_w - 2):.1f}" y="{base - h:.1f}" '
            f'width="{max(col_w - 2, 1):.1f}" height="{h:.1f}" fill="{COLOURS[0]}">'
            f"<title>{_t(edge_text(edges[i]))} – {_t(edge_text(edges[i + 1]))}: {_t(count_text(c))}</title></rect>"
        )
    for i in range(0, n + 1, step):
        x = left + i * col_w
        parts.append(
            f'<text class="tick" x="{f.x(x):.1f}" y="{base + 16:.1f}" text-anchor="middle">'
            f"{_t(edge_text(edges[i]))}</text>"
        )
    for mi, m in enumerate(markers):
        if not lo <= m.value <= hi:
            continue
        x = at(m.value)
        parts.append(
            f'<g class="marker"><line x1="{f.x(x):.1f}" y1="{top - 4:.1f}" x2="{f.x(x):.1f}" y2="{base:.1f}" '
            f'stroke="{COLOURS[1 + mi % 3]}" stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text x="{f.x(x + 4):.1f}" y="{top - 8 + 14 * mi:.1f}" text-anchor="{f.anchor("start")}" '
            f'fill="{COLOURS[1 + mi % 3]}">{_t(m.label)}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
