"""The dashboard's charts as inline SVG, drawn here in Python: nothing is fetched by the browser, no script runs.

- ``line_chart``: one line per series (rows per minute over each recent run);
- ``bar_chart``: horizontal bars, one or two per label (cost per agent: estimated and actual; failure reasons).

Every label and title is text from job records (agent names, failure reasons that quote the agent's error), so
each is XML-escaped; numbers are formatted by the caller's ``value_text``. An empty chart says so in words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup
from pydantic import BaseModel, Field

# Series colours (the Tableau 10 palette, apart from the page's own status colours) and the estimate's grey.
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
GREY = "#9aa5b1"
FONT = 'font-family="-apple-system, Segoe UI, Roboto, Arial, sans-serif"'
MAX_LABEL = 38


class Series(BaseModel):
    name: str
    points: list[tuple[float, float]] = Field(description="(x, y), x ascending")


class Bar(BaseModel):
    label: str
    values: list[float | None] = Field(description="One per bar series; None: unknown (no bar, a dash)")


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start", color: str = "#52606d",
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{color}" text-anchor="{anchor}" {extra}>'
            f"{escape(text)}</text>")


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "…"


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (an axis that ends on a round number)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(power * step for step in (1, 2, 2.5, 5, 10) if power * step >= value * (1 - 1e-9))


def _svg(width: int, height: int, title: str, body: list[str], chart_id: str) -> Markup:
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {FONT}><title>{escape(title)}</title>'
        + "".join(body) + "</svg>")


def _empty(width: int, height: int, title: str, message: str, chart_id: str) -> Markup:
    return _svg(width, height, title, [_text(width / 2, height / 2, message, size=13, anchor="middle")], chart_id)


def line_chart(series: Sequence[Series], *, title: str, chart_id: str, x_text: Callable[[float], str],
               y_text: Callable[[float], str], empty: str = "No data yet", width: int = 640,
               height: int = 260) -> Markup:
    """Lines over a shared x axis from 0; a legend names each series."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return _empty(width, height, title, empty, chart_id)
    left, right, top, bottom = 56, 16, 14, 52
    x_max = max(x for s in drawn for x, _ in s.points) or 1.0
    y_max = _nice_max(max(y for s in drawn for _, y in s.points))
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + plot_w * x / x_max

    def py(y: float) -> float:
        return top + plot_h * (1 - y / y_max)

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fbfcfd" stroke="#e3e7ec"/>']
    for tick in range(5):
        value = y_max * tick / 4
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{py(value):.1f}" y2="{py(value):.1f}" stroke="#e3e7ec"/>')
        body.append(_text(left - 6, py(value) + 4, y_text(value), anchor="end"))
    for tick in range(5):
        value = x_max * tick / 4
        body.append(_text(px(value), top + plot_h + 16, x_text(value), anchor="middle"))
    for index, item in enumerate(drawn):
        color = COLORS[index % len(COLORS)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in item.points)
        body.append(f'<polyline class="series" data-series="{escape(item.name)}" fill="none" stroke="{color}" '
                    f'stroke-width="2" stroke-linejoin="round" points="{points}"/>')
        if len(item.points) == 1:
            x, y = item.points[0]
            body.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
    legend_x = left
    for index, item in enumerate(drawn):
        color = COLORS[index % len(COLORS)]
        label = _short(item.name)
        body.append(f'<rect x="{legend_x}" y="{height - 16}" width="10" height="10" fill="{color}"/>')
        body.append(_text(legend_x + 14, height - 7, label))
        legend_x += 24 + 6.2 * len(label)
    return _svg(width, height, title, body, chart_id)


def bar_chart(bars: Sequence[Bar], *, title: str, chart_id: str, value_text: Callable[[float], str],
              series_names: Sequence[str] = (), empty: str = "No data yet", width: int = 640,
              bar_height: int = 14) -> Markup:
    """Horizontal bars, ``len(series_names)`` (or one) per label, scaled to the largest value."""
    if not bars:
        return _empty(width, 120, title, empty, chart_id)
    per_label = max(len(bar.values) for bar in bars)
    left, right, top = 250, 80, 8
    group = per_label * bar_height + 10
    legend = 22 if len(series_names) > 1 else 0
    height = top + group * len(bars) + legend + 4
    known = [value for bar in bars for value in bar.values if value is not None]
    scale_max = max(known, default=0.0) or 1.0
    plot_w = width - left - right
    palette = (GREY, *COLORS) if per_label > 1 else COLORS  # of two series, the first (the estimate) is grey
    body = []
    for row, bar in enumerate(bars):
        y = top + row * group
        body.append(_text(left - 8, y + per_label * bar_height / 2 + 4, _short(bar.label), anchor="end",
                          color="#1f2933", extra=f'data-label="{escape(bar.label)}"'))
        for index, value in enumerate(bar.values):
            color = palette[index % len(palette)]
            bar_y = y + index * bar_height
            length = max(1.0, plot_w * value / scale_max) if value else 0.0
            body.append(f'<rect class="bar" x="{left}" y="{bar_y}" width="{length:.1f}" height="{bar_height - 2}" '
                        f'fill="{color}" rx="2"><title>{escape(bar.label)}: '
                        f'{escape("unknown" if value is None else value_text(value))}</title></rect>')
            body.append(_text(left + length + 6, bar_y + bar_height - 4,
                              "–" if value is None else value_text(value), size=10))
    if legend:
        legend_x = left
        for index, name in enumerate(series_names):
            color = palette[index % len(palette)]
            body.append(f'<rect x="{legend_x}" y="{height - 16}" width="10" height="10" fill="{color}"/>')
            body.append(_text(legend_x + 14, height - 7, name))
            legend_x += 30 + 6.2 * len(name)
    return _svg(width, height, title, body, chart_id)
