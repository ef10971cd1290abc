"""The dashboard's chart of the last days, drawn as inline SVG on the server: no script, nothing fetched.

Two bars a day (what we collected, what the hub settled), a dot above the days that still have open breaks, the
largest amount as the scale. Pure: the same figures give the same markup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 720, 240, 16, 28, 8
COLLECTED, SETTLED, BREAKS = "#1f6feb", "#2e8540", "#b3261e"


@dataclass(frozen=True)
class ChartDay:
    day: date
    collected: int
    settled: int
    open_breaks: int


def _label(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _bar(x: float, width: float, value: int, scale: float, colour: str, title: str) -> str:
    height = 0 if scale == 0 else max(0.0, value) / scale * (HEIGHT - TOP - BOTTOM)
    y = HEIGHT - BOTTOM - height
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{colour}">'
        f"<title>{escape(title)}</title></rect>"
    )


def _day(index: int, item: ChartDay, slot: float, scale: float) -> list[str]:
    x = LEFT + index * slot
    bar = max(1.0, slot * 0.38)
    name = item.day.strftime("%d/%m")
    parts = [
        _bar(x + slot * 0.1, bar, item.collected, scale, COLLECTED, f"{name}: đã thu {_label(item.collected)} ₫"),
        _bar(x + slot * 0.1 + bar, bar, item.settled, scale, SETTLED, f"{name}: quyết toán {_label(item.settled)} ₫"),
    ]
    if item.open_breaks:
        parts.append(
            f'<circle class="break-dot" cx="{x + slot / 2:.1f}" cy="{TOP / 2:.1f}" r="4" fill="{BREAKS}">'
            f"<title>{escape(name)}: {item.open_breaks} chênh lệch chưa xử lý</title></circle>"
        )
    if index % 5 == 0 or index == 0:
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 8}" font-size="11" text-anchor="middle">{escape(name)}</text>'
        )
    return parts


def svg(days: Sequence[ChartDay], title: str) -> Markup:
    scale = float(max([d.collected for d in days] + [d.settled for d in days] + [0]))
    slot = (WIDTH - 2 * LEFT) / max(1, len(days))
    parts = [
        f'<svg id="chart" role="img" aria-labelledby="chart-title" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>',
    ]
    for index, item in enumerate(days):
        parts.extend(_day(index, item, slot, scale))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above, the rest is numbers
