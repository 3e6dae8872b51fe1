"""`modeltrail serve`: the HTTP endpoint (waitress, a production WSGI server), Socket Mode when
configured, and the outbox dispatcher — in one process.

Routes: `POST /slack/events` (the Bolt app, HTTP mode), `POST /webhooks/mlflow` (with
MLFLOW_WEBHOOK_SECRET; see integrations/mlflow_webhook.py), `POST /api/monitoring/MODEL`
(monitoring_api.py), `GET /api/...` (the read API, api.py), `GET /m/...` (the pages, pages.py),
`GET /healthz` (database reachable, outbox counts), `GET /metrics` (Prometheus; metrics.py,
which also times every request). Anything else is 404. The API, the pages and the monitoring
POST check tokens (auth.py).

Bodies are capped per route (`Router.limits`; 1 MiB unless a route says otherwise, 10 MiB
for monitoring): a request announcing more is answered 413 before its body is read. Waitress
refuses anything beyond the largest cap itself, so even a chunked upload is not buffered past
it. Request bodies and response_urls are never logged (see the Bolt logger in slack/app.py).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from modeltrail.bot.web.responses import json_response
from modeltrail.core.config import Settings
from modeltrail.core.registry.writer import Registry

log = logging.getLogger("modeltrail.serve")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
DEFAULT_BODY_LIMIT = 1024 * 1024  # Slack events and commands, webhooks
HTTP_THREADS = 8  # waitress worker threads per process
SOCKET_PING_SECONDS = 5.0  # Socket Mode: ping interval, and how often a lost session is noticed


@dataclass
class Router:
    """A small WSGI dispatcher: exact paths to WSGI apps."""

    registry: Registry
    routes: dict[str, WsgiApp] = field(default_factory=dict)
    # Paths under a prefix ("/api/monitoring/" → its app, which reads the rest of the path).
    prefixes: dict[str, WsgiApp] = field(default_factory=dict)
    # More lines of /healthz: name → a function returning that part's state ("slack": "ok").
    checks: dict[str, Callable[[], str]] = field(default_factory=dict)
    # Body caps in bytes by path or prefix; others get DEFAULT_BODY_LIMIT.
    limits: dict[str, int] = field(default_factory=dict)
    # The outbox topics a consumer in this process drains; /healthz counts only those, so it
    # never shows a backlog nobody here will drain.
    drained_topics: tuple[str, ...] = ()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self.health(start_response)
        route = self.route(path)
        app = None if route is None else self.routes.get(route) or self.prefixes.get(route)
        if app is None:
            return json_response(start_response, "404 Not Found", {"error": "not found"})
        limit = self.limit_for(path)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_response(start_response, "400 Bad Request", {"error": "bad length"})
        if length > limit:
            return json_response(
                start_response,
                "413 Content Too Large",
                {"error": f"body over {limit // 1024} KiB for this route"},
            )
        return app(environ, start_response)

    def route(self, path: str) -> str | None:
        """The registered route a path falls under: the path itself (an exact route, or
        /healthz), else the longest prefix it starts with ("/api/monitoring/" before
        "/api/"), else None."""
        if path == "/healthz" or path in self.routes:
            return path
        return max((p for p in self.prefixes if path.startswith(p)), key=len, default=None)

    def limit_for(self, path: str) -> int:
        if path in self.limits:
            return self.limits[path]
        prefix = next((p for p in self.limits if p.endswith("/") and path.startswith(p)), None)
        return self.limits[prefix] if prefix is not None else DEFAULT_BODY_LIMIT

    @property
    def largest_limit(self) -> int:
        return max([DEFAULT_BODY_LIMIT, *self.limits.values()])

    def health(self, start_response: Callable[..., Any]) -> list[bytes]:
        from modeltrail.core.errors import ModeltrailError
        from modeltrail.core.lifecycle.outbox import Outbox

        try:
            counts = (
                Outbox(self.registry.engine).counts(self.drained_topics)
                if self.drained_topics
                else {}
            )
        except (ModeltrailError, Exception) as exc:  # the endpoint reports, never raises
            return json_response(
                start_response,
                "503 Service Unavailable",
                {"status": "unhealthy", "database": f"error: {type(exc).__name__}"},
            )
        extra = {name: check() for name, check in self.checks.items()}
        return json_response(
            start_response,
            "200 OK",
            {
                "status": "ok",
                "database": "ok",
                "dispatcher": bool(self.drained_topics),
                "outbox": counts,
                **extra,
            },
        )


@dataclass
class Service:
    """Everything `serve` runs; `start()` returns once all of it is running."""

    settings: Settings
    registry: Registry
    router: Router
    dispatcher: Any = None
    socket_handler: Any = None
    slack_link: Any = None  # slack.link.SlackLink: asks Slack until it answers, in the background
    digest_scheduler: Any = None  # digest_jobs.DigestScheduler, when MODELTRAIL_DIGEST_SCHEDULE
    mlflow_poller: Any = None  # integrations.mlflow_webhook.MlflowPoller, when configured
    audit_anchor: Any = None  # anchor.HeadAnchor, when MODELTRAIL_AUDIT_ANCHOR is set
    server: Any = None
    app: Any = None  # what waitress serves: the router, wrapped by metrics.attach to time it
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    _background: bool = False  # start_background ran (so stop closes Socket Mode)

    @property
    def port(self) -> int:
        return int(self.server.effective_port) if self.server is not None else 0

    @property
    def has_background(self) -> bool:
        """Anything to run besides the HTTP endpoint (the loops `start_background` starts)."""
        return any(
            part is not None
            for part in (
                self.dispatcher,
                self.slack_link,
                self.digest_scheduler,
                self.mlflow_poller,
                self.audit_anchor,
            )
        )

    def start(self) -> None:
        self.prepare()
        self.start_http()
        self.start_background()

    def prepare(self) -> None:
        """What must happen once, before any request is answered (HTTP workers fork after it)."""
        # waitress warns "Task queue depth is N" whenever requests wait for a worker thread,
        # which is every moment of normal load from many consumers; the warning costs more
        # CPU than the cached answers it delays.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        if self.dispatcher is not None:
            _warm_up()
            try:
                # Before anything can change: "only events newer than the first start" then
                # holds for a change made the moment start() returns.
                self.dispatcher.first_start()
            except Exception:  # the dispatcher's thread tries again
                log.exception("setting the registry's past aside failed")

    def start_http(self, sockets: list[Any] | None = None) -> None:
        """Serve HTTP on the configured address, or on `sockets` (listening already)."""
        from waitress.server import create_server

        where: dict[str, Any] = (
            {"sockets": sockets}
            if sockets
            else {"host": self.settings.http_host, "port": self.settings.http_port}
        )
        self.server = create_server(
            self.app or self.router,
            threads=HTTP_THREADS,
            ident="modeltrail",
            max_request_body_size=self.router.largest_limit,
            **where,
        )
        self.server.channel_class = _capped_channel(self.router)
        self._thread("http", self.server.run)

    def start_background(self) -> None:
        """The dispatcher, the digest scheduler, the MLflow poller, the Slack link (and Socket
        Mode once Slack answers) and the audit anchor, as configured: one thread each."""
        self._background = True
        for name, part in (
            ("slack-dispatcher", self.dispatcher),
            ("digest-scheduler", self.digest_scheduler),
            ("mlflow-poller", self.mlflow_poller),
            ("audit-anchor", self.audit_anchor),
        ):
            if part is not None:
                self._thread(name, part.run_forever, self.stop_event)
        if self.slack_link is not None:
            when_up = self.socket_handler.connect if self.socket_handler else None
            self._thread("slack-link", self.slack_link.run, self.stop_event, when_up=when_up)

    def _thread(self, name: str, target: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        if self.socket_handler is not None and self._background:
            self.socket_handler.close()
        if self.server is not None:
            server = self.server
            # Close the sockets from inside waitress's own loop: closing them from here
            # races its select() and kills the loop with EBADF. With nothing left to watch
            # the loop returns; the trigger pipe is closed last, once nobody can pull it.
            server.trigger.pull_trigger(lambda: _close_channels(server))
        for thread in self.threads:
            thread.join(timeout=5)
        if self.server is not None:
            self.server.task_dispatcher.shutdown(timeout=1)
            self.server.trigger.close()


ONE_SEND_MAX = 256 * 1024  # a larger body is sent after its head, not copied behind it


def _capped_channel(router: Router) -> type:
    """A waitress channel whose parser applies the route's body cap as soon as the headers
    are in: waitress refuses an announced (or chunked) body beyond `max_request_body_size`
    with 413 without reading it, so each request gets its own route's cap as that limit."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser

    _OneSendTask = _one_send_task()

    class Parser(HTTPRequestParser):  # type: ignore[misc]
        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            self.adj = _Capped(self.adj, router.limit_for(self.path or ""))

    class Channel(HTTPChannel):  # type: ignore[misc]
        parser_class = Parser
        task_class = _OneSendTask

    return Channel


def _one_send_task() -> type:
    from waitress.task import WSGITask

    class Task(WSGITask):  # type: ignore[misc]
        """Sends a whole answer given in one piece (every JSON answer) with one send: waitress
        sends the head and the body apart, and each send is a GIL hand-off that, with 50
        connections waiting, costs more than building the cached answer."""

        def write(self, data: bytes) -> None:
            if (
                not self.wrote_header
                and self.complete
                and 0 < len(data) <= ONE_SEND_MAX
                and self.content_length == len(data)
                and self.has_body
            ):
                head = self.build_response_header()
                self.wrote_header = True
                self.content_bytes_written = len(data)
                self.channel.write_soon(head + data)
                return
            super().write(data)

    return Task


class _Capped:
    """waitress Adjustments with another body limit (everything else passed through)."""

    def __init__(self, adj: Any, limit: int) -> None:
        self._adj = adj
        self.max_request_body_size = limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adj, name)


def _warm_up() -> None:
    """Import and compile now what the first Slack requests would otherwise pay for (the
    reply modules, the Jinja templates), so early acks are as fast as later ones."""
    from modeltrail.bot.slack import reports  # noqa: F401
    from modeltrail.core.lifecycle import rules as lifecycle  # noqa: F401
    from modeltrail.templates.render import environment

    for fmt, name in (("slack", "slack.j2"), ("text", "headline.txt.j2"), ("text", "_headline.j2")):
        environment(fmt).get_template(name)


def _close_channels(server: Any) -> None:
    """Runs in waitress's loop thread: stop watching every socket so that the loop ends."""
    from waitress import wasyncore

    for channel in list(server._map.values()):
        if channel is server.trigger:
            channel.del_channel()  # its pipe stays open for pulls already in flight
        elif channel is server:
            wasyncore.dispatcher.close(server)  # the listening socket (not the trigger)
        else:
            channel.close()


def build_service(
    settings: Settings, registry: Registry, *, metrics_dir: str | None = None
) -> Service:
    """Everything `serve` runs, built and not started. `metrics_dir`: the directory the
    processes of one service share their metrics in (workers.py), None for one process."""
    router = Router(registry)
    service = Service(settings, registry, router)
    if settings.slack_bot_token:
        from modeltrail.core.extras import require

        require("slack", "the Slack bot (SLACK_BOT_TOKEN is set)")
        from modeltrail.bot.assistant.answers import slack_answerer
        from modeltrail.bot.assistant.tool_calling import configured_fallback
        from modeltrail.bot.slack.app import build_app, web_client
        from modeltrail.bot.slack.dispatcher import SlackDispatcher
        from modeltrail.bot.slack.link import SlackLink

        client = web_client(settings)
        service.slack_link = link = SlackLink(client)
        router.checks["slack"] = lambda: link.status
        answerer = slack_answerer(registry, settings, llm=configured_fallback(settings))
        app = build_app(settings, registry, client=client, answer=answerer, link=link)
        if settings.slack_app_token:
            # websocket-client's adapter, not slack_sdk's built-in client: the built-in one
            # does not notice a connection cut without a close frame (a restarted proxy, a
            # lost route) until its pings go stale, ~40 s of a thread spinning on recv();
            # this one sees the EOF at once and reconnects. Its monitor also picks up a
            # refresh that its own reconnect missed, every `ping_interval` seconds; see
            # slack/socket_mode.py for the reconnect after Slack's refresh.
            from modeltrail.bot.slack.socket_mode import SocketModeHandler

            service.socket_handler = SocketModeHandler(
                app, settings.slack_app_token, ping_interval=SOCKET_PING_SECONDS
            )
        else:
            from slack_bolt.adapter.wsgi import SlackRequestHandler

            from modeltrail.bot.slack.bodies import checked

            router.routes["/slack/events"] = checked(SlackRequestHandler(app, path="/slack/events"))
        from modeltrail.core.lifecycle.outbox import TOPICS

        router.drained_topics = TOPICS
        service.dispatcher = SlackDispatcher(
            registry,
            client,
            settings,
            summarize=report_summarizer(settings, registry),
            link=link,
        )
    if settings.digest_schedule:
        from modeltrail.bot.digest_jobs import scheduler_from_settings

        service.digest_scheduler = scheduler_from_settings(settings, registry)
    if settings.mlflow_webhook_secret or settings.mlflow_poll_seconds:
        from modeltrail.bot.integrations import mlflow_webhook

        mlflow_webhook.attach(service, settings, registry)
    if settings.audit_anchor:
        from modeltrail.bot.anchor import Destination, HeadAnchor
        from modeltrail.core.errors import ConfigError

        destination = Destination.parse(settings.audit_anchor)
        if destination.kind == "slack" and not settings.slack_bot_token:
            raise ConfigError(
                f"MODELTRAIL_AUDIT_ANCHOR={settings.audit_anchor} needs SLACK_BOT_TOKEN",
                hint="set the token, or anchor to a file path instead",
            )
        service.audit_anchor = HeadAnchor(registry, destination)
    from modeltrail.bot.web import api, metrics, monitoring_api, pages
    from modeltrail.bot.web.auth import Gate

    gate = Gate(registry, env_token=settings.api_token, link_secret=settings.link_secret)
    router.prefixes[monitoring_api.PREFIX] = monitoring_api.MonitoringApi(registry, gate)
    read_api = router.prefixes[api.PREFIX] = api.ReadApi(registry, gate)
    router.prefixes[pages.PREFIX] = pages.Pages(registry, gate)
    metrics.attach(service, read_api, shared_dir=metrics_dir)
    router.limits[monitoring_api.PREFIX] = monitoring_api.MAX_BODY
    return service


def report_summarizer(settings: Settings, registry: Registry) -> Callable[[Any], str | None]:
    """Summaries at the top of channel reports: the LLM's when configured (cached), else the
    automatic one, marked as such."""
    from modeltrail.bot.assistant.cache import SummaryCache
    from modeltrail.bot.assistant.llm import llm_from_settings
    from modeltrail.bot.assistant.summaries import summarize

    llm = llm_from_settings(settings)
    cache = SummaryCache(registry.engine)
    return lambda diff: summarize(diff, llm=llm, cache=cache).marked


def freeze_startup_objects() -> None:
    """Keep everything made at start (modules, the Bolt app, templates) out of the garbage
    collector's full passes: a gen-2 collection over them held the GIL for ~55 ms, stalling
    every ack in flight (~2 ms after this). Only for a long-running server: what is frozen
    is never collected, so a process that builds services over and over must not call it."""
    import gc

    gc.collect()
    gc.freeze()


def serve_forever(settings: Settings, registry: Registry, say: Callable[[str], None]) -> None:
    if settings.http_workers > 1:
        from modeltrail.bot.web import workers

        with workers.metrics_directory() as metrics_dir:
            service = build_service(settings, registry, metrics_dir=metrics_dir)
            service.prepare()
            freeze_startup_objects()  # before the fork: the children share those pages

            def ready(port: int) -> None:
                announce(service, settings, say, port=port)

            workers.serve(service, metrics_dir, say, ready)
        return
    service = build_service(settings, registry)
    service.start()
    freeze_startup_objects()
    announce(service, settings, say, port=service.port)
    stopped = [False]

    def _stop(signum: int, _frame: Any) -> None:
        # A plain flag: a handler taking a lock (Event.set) can deadlock on the lock the main
        # thread holds inside Event.wait.
        stopped[0] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stopped[0]:
        time.sleep(0.2)
    say("stopping…")
    service.stop()


def announce(
    service: Service, settings: Settings, say: Callable[[str], None], *, port: int
) -> None:
    """What `serve` says once it answers: where, and what is configured."""
    mode = "Socket Mode" if service.socket_handler else "HTTP"
    say(
        f"modeltrail serving on http://{settings.http_host}:{port} "
        f"(/healthz, /metrics"
        f"{', /slack/events' if '/slack/events' in service.router.routes else ''})"
    )
    if settings.slack_bot_token:
        say(
            f"Slack: {mode}, command {settings.slack_command}, reports to "
            f"{settings.slack_channel or 'each model’s channel'}"
        )
    else:
        say("Slack: not configured (SLACK_BOT_TOKEN unset)")
    if service.digest_scheduler is not None:
        scheduler = service.digest_scheduler
        say(
            f"digest: {scheduler.schedule} {settings.timezone}, next at "
            f"{scheduler.next_run():%Y-%m-%d %H:%M} UTC, to "
            f"{', '.join(settings.digest_to) or 'the addresses set per model'}"
        )
    say(
        "read API: GET /api/... (OpenAPI at /api/openapi.json), pages at /m/MODEL, "
        "monitoring: POST /api/monitoring/MODEL — bearer tokens from `modeltrail token create`"
        + (" or MODELTRAIL_API_TOKEN" if settings.api_token else "")
    )
    if "/webhooks/mlflow" in service.router.routes:
        say("MLflow: webhooks at POST /webhooks/mlflow")
    if service.mlflow_poller is not None:
        say(f"MLflow: importing new versions every {settings.mlflow_poll_seconds:g} s")
    if service.audit_anchor is not None:
        say(f"audit: the chain head is anchored daily to {settings.audit_anchor}")
