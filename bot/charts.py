"""Metric trend charts for the digest: one PNG per model and key metric.

matplotlib, imported when a chart is drawn (never by `modeltrail --help`), through its
object-oriented API with the Agg canvas: no pyplot, no global backend switch, no GUI, safe
in the `serve` threads. The production version is marked with a green star, the golden one
with a gold diamond, versions new in the period are filled; the x axis names the versions.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from functools import lru_cache

from modeltrail.bot.mail import InlineImage
from modeltrail.core.digest.period import MetricTrend

WIDTH, HEIGHT, DPI = 6.0, 2.4, 100  # 600 x 240 px: readable at a mail client's width
INK, MUTED, LINE = "#1f2937", "#6b7280", "#2563eb"
PRODUCTION, GOLDEN = "#15803d", "#b45309"


@dataclass(frozen=True)
class Chart:
    model: str
    metric: str
    png: bytes
    cid: str  # content id for the email; also a stable name
    alt: str

    @property
    def filename(self) -> str:
        return f"{_slug(self.model)}-{_slug(self.metric)}.png"

    def image(self) -> InlineImage:
        return InlineImage(self.cid, self.png, self.filename)


@lru_cache(maxsize=128)
def draw(model: str, trend: MetricTrend) -> Chart:
    """The chart of one trend. Cached: the same trend always draws the same bytes, and a
    retried or per-team digest draws its charts again (~0.3 s each)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    xs = list(range(len(trend.points)))
    ys = [p.value for p in trend.points]
    axes.plot(xs, ys, color=LINE, linewidth=1.8, zorder=2)
    # Versions new in the period filled, older ones hollow: one collection each.
    for new in (True, False):
        picked = [(x, p.value) for x, p in zip(xs, trend.points, strict=True) if p.new is new]
        if picked:
            axes.scatter(
                [x for x, _ in picked],
                [y for _, y in picked],
                s=28,
                zorder=3,
                color=LINE if new else "white",
                edgecolors=LINE,
                linewidths=1.4,
            )
    marked = False
    for x, point in zip(xs, trend.points, strict=True):
        if point.production:
            axes.scatter(
                [x],
                [point.value],
                marker="*",
                s=220,
                color=PRODUCTION,
                zorder=4,
                label="production",
            )
            marked = True
        if point.golden:
            axes.scatter(
                [x],
                [point.value],
                marker="D",
                s=70,
                facecolors="none",
                edgecolors=GOLDEN,
                linewidths=2,
                zorder=5,
                label="golden",
            )
            marked = True
    axes.set_xticks(xs, [p.version for p in trend.points], fontsize=8, color=INK)
    axes.tick_params(axis="y", labelsize=8, colors=INK)
    arrow = "↑" if trend.goal == "maximize" else "↓"
    axes.set_title(f"{model} · {trend.metric} ({arrow} better)", fontsize=10, color=INK, loc="left")
    axes.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(MUTED)
    if marked:
        # Above the plot, right of the title: never over a point, and no "best" search.
        axes.legend(
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncols=2,
            fontsize=8,
            frameon=False,
            markerscale=0.6,
            borderaxespad=0.2,
        )
    axes.margins(x=0.05, y=0.2)
    figure.subplots_adjust(left=0.1, right=0.98, top=0.86, bottom=0.13)
    buffer = io.BytesIO()
    # No metadata: the same trend draws the same bytes (stable content ids, cache-friendly).
    figure.savefig(buffer, format="png", metadata={"Software": None})
    png = buffer.getvalue()
    digest = hashlib.sha256(png).hexdigest()[:12]
    cid = f"chart-{_slug(model)}-{_slug(trend.metric)}-{digest}@modeltrail"
    alt = (
        f"{trend.metric} of {model} over versions {trend.first.version}–{trend.last.version}: "
        f"{trend.first.value:.4g} → {trend.last.value:.4g}"
    )
    return Chart(model, trend.metric, png, cid, alt)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "x"
