"""The trend of the drift report: failing findings by severity per snapshot over 12 weeks, drawn as
an inline SVG that mail clients can show, with the same numbers as a weekly table.

Why it is drawn this way:

- Inline SVG with presentational attributes only (`fill`, `stroke`, `font-family`): no script, no
  class, no `<style>`, nothing a mail client's sanitizer would strip to leave an unreadable chart.
  Clients that drop SVG altogether (Gmail, Outlook for Windows) still show the table, and so do
  screen readers; the text e-mail gets the table as text.
- Stacked step areas: a count holds from one snapshot to the next, so steps tell the truth where
  sloped lines would invent values between passes. Consecutive snapshots with the same counts are
  merged, so a quiet quarter costs a few points, not one per pass.
- Severities stack from critical (bottom, darkest) up to info, in the report's severity colours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from auditor import documents as doc

from .view_common import plural, short_time

__all__ = ["SEVERITY_COLOURS", "ChainRef", "TrendView", "TrendWeek", "chain_ref", "trend_view"]

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
# The severity badges' hues, lighter where two neighbours in the stack would blur together.
SEVERITY_COLOURS = {
    "critical": "#8b0000",
    "high": "#cf222e",
    "medium": "#f0883e",
    "low": "#d4a72c",
    "info": "#54aeff",
}
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 36, 30, 28  # plot margins: axis labels left and below, legend above
WEEKS = 12


@dataclass(frozen=True, slots=True)
class TrendArea:
    severity: str
    colour: str
    points: str  # SVG polygon points


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class TrendWeek:
    """The state at the end of one week: the counts of its last checked snapshot."""

    until: str
    snapshots: int
    counts: tuple[int, ...] | None  # in SEVERITY_ORDER; None when no snapshot was checked that week

    @property
    def total(self) -> int | None:
        return sum(self.counts) if self.counts is not None else None


@dataclass(frozen=True, slots=True)
class TrendView:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    areas: tuple[TrendArea, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    legend: tuple[tuple[float, str, str], ...]  # x, colour, label
    latest: Tick | None  # the newest total, written at the right end (the newest step may be a sliver)
    weeks: tuple[TrendWeek, ...]
    snapshots: int
    description: str
    severities: tuple[str, ...] = SEVERITY_ORDER


@dataclass(frozen=True, slots=True)
class ChainRef:
    snapshot: str
    taken_at: str
    digest: str


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _nice_step(top: int) -> int:
    """A round tick step giving two to five ticks up to `top`."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return step
    return int(10 ** len(str(top)))


def trend_view(trend: doc.Trend | None) -> TrendView | None:
    """The chart and table of an `auditor.report/1` `trend`; None when the report has none."""
    if trend is None:
        return None
    start, end = _moment(trend.since), _moment(trend.until)
    if start is None or end is None or end <= start:
        return None
    points: list[tuple[datetime, tuple[int, ...]]] = []
    for item in trend.snapshots:
        moment = _moment(item.taken_at)
        if moment is not None:
            points.append((moment, tuple(max(0, item.failing.get(s, 0)) for s in SEVERITY_ORDER)))
    points.sort(key=lambda p: p[0])
    weeks = _weeks(points, end)
    plot_left, plot_right = float(LEFT), float(WIDTH - RIGHT)
    plot_top, plot_bottom = float(TOP), float(HEIGHT - BOTTOM)
    highest = max((sum(c) for _, c in points), default=0)
    step = _nice_step(max(highest, 1))
    top_value = max(step, -(-max(highest, 1) // step) * step)

    def x_of(moment: datetime) -> float:
        share = (moment - start).total_seconds() / (end - start).total_seconds()
        return round(plot_left + min(1.0, max(0.0, share)) * (plot_right - plot_left), 1)

    def y_of(value: float) -> float:
        return round(plot_bottom - value / top_value * (plot_bottom - plot_top), 1)

    areas = []
    steps = _merged(points)
    if steps:
        xs = [x_of(moment) for moment, _ in steps] + [plot_right]
        below = [0] * len(steps)
        for index, severity in enumerate(SEVERITY_ORDER):
            above = [b + counts[index] for b, (_, counts) in zip(below, steps, strict=True)]
            if any(counts[index] for _, counts in steps):
                areas.append(
                    TrendArea(severity, SEVERITY_COLOURS[severity], _polygon(xs, below, above, y_of))
                )
            below = above
    y_ticks = tuple(Tick(y_of(value), f"{value:,}") for value in range(0, top_value + 1, step))
    x_ticks = tuple(
        Tick(x_of(end - timedelta(weeks=w)), (end - timedelta(weeks=w)).strftime("%m-%d"))
        for w in range(WEEKS, -1, -2)
    )
    legend = tuple((plot_left + 90 * i, SEVERITY_COLOURS[s], s) for i, s in enumerate(SEVERITY_ORDER))
    return TrendView(
        width=WIDTH,
        height=HEIGHT,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        areas=tuple(areas),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        legend=legend,
        latest=Tick(y_of(sum(points[-1][1])), f"{sum(points[-1][1]):,}") if points else None,
        weeks=weeks,
        snapshots=len(points),
        description=_describe(points, start, end),
    )


def _merged(points: Sequence[tuple[datetime, tuple[int, ...]]]) -> list[tuple[datetime, tuple[int, ...]]]:
    """Drop snapshots whose counts equal the previous one's: the step continues anyway."""
    merged: list[tuple[datetime, tuple[int, ...]]] = []
    for moment, counts in points:
        if not merged or merged[-1][1] != counts:
            merged.append((moment, counts))
    return merged


def _polygon(
    xs: Sequence[float], below: Sequence[int], above: Sequence[int], y_of: Callable[[float], float]
) -> str:
    """A step band between two boundaries: along the top left to right, back along the bottom."""
    top: list[tuple[float, float]] = []
    for i, value in enumerate(above):
        top += [(xs[i], y_of(value)), (xs[i + 1], y_of(value))]
    bottom: list[tuple[float, float]] = []
    for i in range(len(below) - 1, -1, -1):
        bottom += [(xs[i + 1], y_of(below[i])), (xs[i], y_of(below[i]))]
    return " ".join(f"{x:g},{y:g}" for x, y in top + bottom)


def _weeks(points: Sequence[tuple[datetime, tuple[int, ...]]], end: datetime) -> tuple[TrendWeek, ...]:
    weeks = []
    for back in range(WEEKS - 1, -1, -1):
        week_end = end - timedelta(weeks=back)
        inside = [counts for moment, counts in points if week_end - timedelta(weeks=1) < moment <= week_end]
        weeks.append(TrendWeek(week_end.strftime("%Y-%m-%d"), len(inside), inside[-1] if inside else None))
    return tuple(weeks)


def _describe(points: Sequence[tuple[datetime, tuple[int, ...]]], start: datetime, end: datetime) -> str:
    window = f"{start.strftime('%Y-%m-%d')} to {end.strftime('%Y-%m-%d')}"
    if not points:
        return f"No checked snapshot from {window}."
    totals = [sum(c) for _, c in points]
    latest = (
        ", ".join(f"{n:,} {s}" for s, n in zip(SEVERITY_ORDER, points[-1][1], strict=True) if n) or "none"
    )
    return (
        f"Failing findings in {plural(len(points), 'snapshot')} from {window}: "
        f"between {min(totals):,} and {max(totals):,}; latest {totals[-1]:,} ({latest})."
    )


def chain_ref(chain: doc.ChainEntry | None) -> ChainRef | None:
    if chain is None:
        return None
    return ChainRef(str(chain.snapshot), short_time(chain.taken_at), chain.digest)
