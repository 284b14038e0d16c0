"""Horizontal bar charts as SVG geometry: the pages draw them inline, with no script and no library.

Pure: counts in, rectangles and text positions out; the template only places them. Each chart also
carries a one-line text of its numbers, its accessible name for readers that cannot see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ROW_HEIGHT = 26
BAR_HEIGHT = 18
LABEL_WIDTH = 200
BAR_SPACE = 280
COUNT_SPACE = 50


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    y: int
    width: int
    tone: str
    """A CSS class suffix choosing the bar's colour (``bar-<tone>``)."""


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int

    @property
    def bar_x(self) -> int:
        return LABEL_WIDTH

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT

    @property
    def summary(self) -> str:
        """The chart in words: its title and every bar's count."""
        return f"{self.title}: " + (", ".join(f"{b.label} {b.count}" for b in self.bars) or "none")


def bar_chart(chart_id: str, title: str, counts: Mapping[str, int], *, tones: Mapping[str, str] | None = None,
              default_tone: str = "accent") -> Chart:
    """One bar per entry of ``counts`` (in its order), scaled to the largest; ``tones`` colours bars by label."""
    largest = max(counts.values(), default=0)
    bars = tuple(
        Bar(label, count, index * ROW_HEIGHT, round(BAR_SPACE * count / largest) if largest else 0,
            (tones or {}).get(label, default_tone))
        for index, (label, count) in enumerate(counts.items()))
    return Chart(chart_id, title, bars, LABEL_WIDTH + BAR_SPACE + COUNT_SPACE, max(1, len(bars)) * ROW_HEIGHT)
