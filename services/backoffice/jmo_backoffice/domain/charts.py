"""Horizontal bar charts for the dashboard: each bar's length in proportion to the largest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    length: int  # in chart units (0..width)
    y: int


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    bar_height: int

    @property
    def total(self) -> int:
        return sum(b.value for b in self.bars)


def bar_chart(title: str, values: dict[str, int], width: int = 320, bar_height: int = 22, gap: int = 8) -> BarChart:
    """Bars in the order given; a zero value gets no bar but keeps its row (and its label and number)."""
    largest = max(values.values(), default=0)
    bars = []
    for row, (label, value) in enumerate(values.items()):
        length = round(width * value / largest) if largest > 0 else 0
        bars.append(
            Bar(label=label, value=value, length=max(length, 1 if value > 0 else 0), y=row * (bar_height + gap))
        )
    height = max(len(bars) * (bar_height + gap) - gap, bar_height)
    return BarChart(title=title, bars=bars, width=width, height=height, bar_height=bar_height)
