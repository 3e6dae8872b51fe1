"""The pages Slack reports and digest emails link to: plain HTML from the changelog's templates,
a chart as inline SVG, no JavaScript.

    /m/{model}                  versions with stage marks, a metric-history chart per key metric
    /m/{model}/{version}        the record (version: 2.1.5 or latest, production, golden, …)
    /m/{model}/diff/{a}/{b}     the HTML change report (as `modeltrail diff --format html`)

Opened with a signed link (`?t=`, scope read, that model; see core/access.py) or a bearer token
of scope read. Links between the pages carry the link token on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from modeltrail.bot.web.api import request_path
from modeltrail.bot.web.auth import Gate, Refusal
from modeltrail.bot.web.links import PREFIX
from modeltrail.bot.web.responses import bytes_response
from modeltrail.core.errors import ModeltrailError, NotFoundError, UsageError
from modeltrail.core.registry.writer import Registry

HISTORY = 60  # versions drawn in a chart (the newest)
KEY_METRICS = 4  # charts on a model page when no metric goal names the key ones
_REF = r"v?\d+\.\d+\.\d+|latest|previous|production|staging|golden"
_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("diff", re.compile(rf"^/m/(?P<model>.+)/diff/(?P<a>{_REF})/(?P<b>{_REF})$")),
    ("version", re.compile(rf"^/m/(?P<model>.+)/(?P<ref>{_REF})$")),
    ("model", re.compile(r"^/m/(?P<model>.+?)/?$")),
)
_HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Chart:
    """A metric's history as SVG geometry: one point per version, oldest left."""

    metric: str
    goal: str
    width: int
    height: int
    points: tuple[tuple[float, float, str, float, str], ...]  # x, y, version, value, mark
    low: float
    high: float

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, *_ in self.points)


def chart(
    metric: str, goal: str, series: Sequence[tuple[str, float, str]], width: int = 640
) -> Chart:
    """Pure: (version, value, mark) oldest first → coordinates in a width × 180 box."""
    height, pad = 180, 24
    values = [v for _, v, _ in series]
    low, high = min(values), max(values)
    span = (high - low) or abs(high) or 1.0
    step = (width - 2 * pad) / max(len(series) - 1, 1)
    points = tuple(
        (
            pad + i * step,
            height - pad - (value - low) / span * (height - 2 * pad),
            version,
            value,
            mark,
        )
        for i, (version, value, mark) in enumerate(series)
    )
    return Chart(metric, goal, width, height, points, low, high)


class Pages:
    def __init__(self, registry: Registry, gate: Gate) -> None:
        self.registry = registry
        self.gate = gate

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self._html(start_response, "405 Method Not Allowed", "Use GET.")
        path = request_path(environ)
        found = next(((name, m.groupdict()) for name, p in _ROUTES if (m := p.match(path))), None)
        if found is None:
            return self._html(start_response, "404 Not Found", "No such page.")
        name, args = found
        grant = self.gate.check(environ, "read", args["model"], links=True)
        if isinstance(grant, Refusal):
            return self._html(
                start_response,
                grant.status,
                f"This page needs a valid link or a read token ({grant.reason}).",
            )
        link = parse_qs(environ.get("QUERY_STRING", "")).get("t")
        suffix = "?" + urlencode({"t": link[0]}) if link else ""
        try:
            html = getattr(self, f"_{name}")(suffix=suffix, **args)
        except (UsageError, NotFoundError) as exc:
            return self._html(start_response, "404 Not Found", exc.message)
        except ModeltrailError as exc:
            return self._html(start_response, "404 Not Found", exc.message)
        return bytes_response(
            start_response,
            "200 OK",
            html.encode("utf-8"),
            _HTML,
            headers=[("Cache-Control", "private, no-store"), ("Referrer-Policy", "no-referrer")],
        )

    def _html(self, start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
        from modeltrail.templates.render import render

        body = render("message.html.j2", "html", title=status, text=text).encode("utf-8")
        challenge = [("WWW-Authenticate", 'Bearer realm="modeltrail"')]
        headers = challenge if status.startswith("401") else []
        return bytes_response(start_response, status, body, _HTML, headers=headers)

    def _model(self, *, model: str, suffix: str) -> str:
        from modeltrail.core.registry.queries import VersionQuery, find_versions, model_overview
        from modeltrail.templates.render import render

        overview = model_overview(self.registry, model)
        page = find_versions(self.registry, model, VersionQuery(limit=HISTORY))
        versions = list(page.items)
        specs = self.registry.metric_specs(model)
        names = [n for n in overview.metric_goals if n in specs]
        if not names and versions:
            names = list(versions[0].metrics)[:KEY_METRICS]
        charts = []
        for metric in names:
            series = [
                (v.version, v.metrics[metric], _mark(v.stage, v.golden))
                for v in reversed(versions)
                if metric in v.metrics
            ]
            if series:
                charts.append(chart(metric, specs[metric].goal, series))
        return render(
            "model_page.html.j2",
            "html",
            overview=overview,
            versions=versions,
            charts=charts,
            base=PREFIX + quote(model, safe="/"),
            suffix=suffix,
        )

    def _version(self, *, model: str, ref: str, suffix: str) -> str:
        from modeltrail.templates.render import render

        version = self.registry.resolve_version(model, ref)
        record = self.registry.load(model, version)
        golden = self.registry.stage_version(model, "golden")
        return render(
            "version_page.html.j2",
            "html",
            record=record,
            golden=golden == record.version,
            base=PREFIX + quote(model, safe="/"),
            suffix=suffix,
        )

    def _diff(self, *, model: str, a: str, b: str, suffix: str) -> str:
        from modeltrail.core.registry.compare import compare
        from modeltrail.templates.render import render

        old = self.registry.resolve_version(model, a)
        new = self.registry.resolve_version(model, b)
        # The commits between the two read as `modeltrail diff --format html` reads them.
        result = compare(self.registry, model, old, new)
        return render("diff.html.j2", "html", diff=result, summary=None)


def _mark(stage: str, golden: bool) -> str:
    if stage == "production":
        return "production"
    if golden:
        return "golden"
    return stage
