"""`GET /metrics` for Prometheus, with the official client library, registered with the server.

What the registry holds is read at each scrape (a few COUNT queries): notification events in
the outbox and digest deliveries in the ledger by status, versions registered by model, and
whether the database answered. Every HTTP request `serve` answers is timed by route, and the
read API's answers are counted as served from its cache or built. Like
`/healthz` it needs no token: it tells counts and model names, nothing of their contents.

Each service has its own CollectorRegistry rather than the library's process-wide default, so
two services in one process (the tests) never share or double-register series. A service
answered by several processes (`serve --workers`, workers.py) counts in the library's
multiprocess mode instead: each process writes its counts to files in one directory, and a
scrape, answered by whichever worker gets it, sums them all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from modeltrail.core.registry.writer import Registry

PATH = "/metrics"
# Seconds; most answers are a few milliseconds, Slack wants its ack within 3 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RegistryCollector:
    """Reads the registry's counts when Prometheus scrapes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        from modeltrail.core.digest.ledger import STATUSES as DELIVERY_STATUSES
        from modeltrail.core.digest.ledger import DigestLedger
        from modeltrail.core.lifecycle.outbox import STATUSES as OUTBOX_STATUSES
        from modeltrail.core.lifecycle.outbox import Outbox

        up = GaugeMetricFamily(
            "modeltrail_database_up", "1 when the registry database answered this scrape"
        )
        try:
            outbox = Outbox(self.registry.engine).counts()
            deliveries = DigestLedger(self.registry.engine).counts()
            models = self.registry.list_models()
        except Exception:  # a scrape reports the outage, never fails
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _by_status(
            "modeltrail_outbox_events",
            "Notification events in the outbox, by status (dead: given up on)",
            OUTBOX_STATUSES,
            outbox,
        )
        yield _by_status(
            "modeltrail_digest_deliveries",
            "Digest deliveries in the ledger, by status (failed: out of attempts)",
            DELIVERY_STATUSES,
            deliveries,
        )
        registered = CounterMetricFamily(
            "modeltrail_versions_registered", "Versions registered, by model", labels=["model"]
        )
        for model in models:
            registered.add_metric([model.name], model.version_count)
        yield registered


def _by_status(
    name: str, documentation: str, known: Iterable[str], counts: dict[str, int]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    # every known status is present, at 0 when empty, so `dead > 0` alerts need no absent()
    for status in dict.fromkeys([*known, *sorted(counts)]):
        family.add_metric([status], counts.get(status, 0))
    return family


class AnswerCounter:
    """The read API's answers from the cache and built, counted in files every process of the
    service writes (multiprocess mode), so that a scrape sums them over the workers."""

    def __init__(self) -> None:
        from prometheus_client import Counter

        counter = Counter(
            "modeltrail_api_cache_answers",
            "Read API answers served from the response cache (hit) or built (miss)",
            ["result"],
            registry=None,
        )
        self._hit = counter.labels("hit")
        self._miss = counter.labels("miss")

    def hit(self) -> None:
        self._hit.inc()

    def miss(self) -> None:
        self._miss.inc()


def share_between_processes(directory: str) -> None:
    """Count in prometheus_client's multiprocess mode, in `directory`, from now on and in every
    process forked after this (metrics made before keep counting for this process only)."""
    from prometheus_client import values

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    # The library picks its value class when first imported; serve may have imported it
    # before it knew it would fork.
    values.ValueClass = values.get_value_class()


class CacheCollector:
    """The read API's answers so far: served from its cache, or built from the database."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "modeltrail_api_cache_answers",
            "Read API answers served from the response cache (hit) or built (miss)",
            labels=["result"],
        )
        family.add_metric(["hit"], self.api.answers.hits)
        family.add_metric(["miss"], self.api.answers.misses)
        yield family


class Metrics:
    """The WSGI app for `/metrics`, and the wrapper that times every request."""

    def __init__(
        self, registry: Registry, router: Any, api: Any = None, shared_dir: str | None = None
    ) -> None:
        self.router = router
        self.prometheus = CollectorRegistry()
        self.prometheus.register(RegistryCollector(registry))  # type: ignore[arg-type]
        if shared_dir is not None:
            from prometheus_client.multiprocess import MultiProcessCollector

            # What the processes counted, read from their files at each scrape; the metrics
            # below are then registered nowhere (registered, this process's would count twice).
            MultiProcessCollector(self.prometheus, path=shared_dir)
            if api is not None:
                api.answers = AnswerCounter()
        elif api is not None:
            self.prometheus.register(CacheCollector(api))  # type: ignore[arg-type]
        self.latency = Histogram(
            "modeltrail_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route and status code",
            ["method", "route", "status"],
            buckets=BUCKETS,
            registry=None if shared_dir is not None else self.prometheus,
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        data = generate_latest(self.prometheus)
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(data)))]
        )
        return [data]

    def route(self, path: str) -> str:
        """The route a path matched, as registered: a bounded set of label values."""
        route = self.router.route(path)
        if route is None:
            return "unmatched"
        return f"{route}*" if route in self.router.prefixes else route

    def timed(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def timed_app(
            environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Iterable[bytes]:
            started = time.perf_counter()
            status = ["500"]  # what an app that raises before answering amounts to

            def observe() -> None:
                self.latency.labels(
                    environ.get("REQUEST_METHOD", ""),
                    self.route(environ.get("PATH_INFO", "")),
                    status[0],
                ).observe(time.perf_counter() - started)

            def recording_start_response(line: str, headers: Any, *rest: Any) -> Any:
                status[0] = line.split(" ", 1)[0]
                return start_response(line, headers, *rest)

            try:
                body = app(environ, recording_start_response)
            except BaseException:
                observe()
                raise
            wrapper = environ.get("wsgi.file_wrapper")
            if isinstance(body, list | tuple) or (
                isinstance(wrapper, type) and isinstance(body, wrapper)
            ):
                # Answered whole (a list), or a file the server sends itself, which must stay
                # unwrapped for the server to send it fast: timed to the first byte.
                observe()
                return body
            return _UntilClosed(body, observe)

        return timed_app


class _UntilClosed:
    """A streamed body, timed until the server closes it (after the last byte)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


def attach(service: Any, api: Any = None, *, shared_dir: str | None = None) -> None:
    """Serve `/metrics` and time every request the service answers (and count the read API's
    cached answers, `api.answers`); `shared_dir`: count in multiprocess mode there."""
    metrics = Metrics(service.registry, service.router, api, shared_dir)
    service.router.routes[PATH] = metrics
    service.app = metrics.timed(service.router)
