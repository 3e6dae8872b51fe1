"""`modeltrail serve`: the HTTP endpoint (waitress, a production WSGI server), Socket Mode when
configured, and the outbox dispatcher — in one process.

Routes: `POST /slack/events` (the Bolt app, HTTP mode), `GET /healthz` (database reachable,
outbox counts). Anything else is 404.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from modeltrail.core.config import Settings
from modeltrail.core.registry import Registry

log = logging.getLogger("modeltrail.serve")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def json_response(
    start_response: Callable[..., Any], status: str, body: dict[str, Any]
) -> list[bytes]:
    data = json.dumps(body).encode("utf-8")
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


@dataclass
class Router:
    """A small WSGI dispatcher: exact paths to WSGI apps."""

    registry: Registry
    routes: dict[str, WsgiApp] = field(default_factory=dict)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self.health(start_response)
        app = self.routes.get(path)
        if app is None:
            return json_response(start_response, "404 Not Found", {"error": "not found"})
        return app(environ, start_response)

    def health(self, start_response: Callable[..., Any]) -> list[bytes]:
        from modeltrail.core.errors import ModeltrailError
        from modeltrail.core.outbox import Outbox

        try:
            counts = Outbox(self.registry.engine).counts()
        except (ModeltrailError, Exception) as exc:  # the endpoint reports, never raises
            return json_response(
                start_response,
                "503 Service Unavailable",
                {"status": "unhealthy", "database": f"error: {type(exc).__name__}"},
            )
        return json_response(
            start_response, "200 OK", {"status": "ok", "database": "ok", "outbox": counts}
        )


@dataclass
class Service:
    """Everything `serve` runs; `start()` returns once all of it is running."""

    settings: Settings
    registry: Registry
    router: Router
    dispatcher: Any = None
    socket_handler: Any = None
    server: Any = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.effective_port) if self.server is not None else 0

    def start(self) -> None:
        from waitress.server import create_server

        self.server = create_server(
            self.router,
            host=self.settings.http_host,
            port=self.settings.http_port,
            threads=8,
            ident="modeltrail",
        )
        web = threading.Thread(target=self.server.run, name="http", daemon=True)
        web.start()
        self.threads.append(web)
        if self.dispatcher is not None:
            worker = threading.Thread(
                target=self.dispatcher.run_forever,
                args=(self.stop_event,),
                name="slack-dispatcher",
                daemon=True,
            )
            worker.start()
            self.threads.append(worker)
        if self.socket_handler is not None:
            self.socket_handler.connect()

    def stop(self) -> None:
        self.stop_event.set()
        if self.socket_handler is not None:
            self.socket_handler.close()
        if self.server is not None:
            self.server.close()
        for thread in self.threads:
            thread.join(timeout=5)


def build_service(settings: Settings, registry: Registry) -> Service:
    router = Router(registry)
    service = Service(settings, registry, router)
    if settings.slack_bot_token:
        from .slack.app import build_app, web_client
        from .slack.dispatcher import SlackDispatcher

        client = web_client(settings)
        app = build_app(settings, registry, client=client)
        if settings.slack_app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            service.socket_handler = SocketModeHandler(app, settings.slack_app_token)
        else:
            from slack_bolt.adapter.wsgi import SlackRequestHandler

            router.routes["/slack/events"] = SlackRequestHandler(app, path="/slack/events")
        service.dispatcher = SlackDispatcher(
            registry, client, settings, summarize=report_summarizer(settings, registry)
        )
    return service


def report_summarizer(settings: Settings, registry: Registry) -> Callable[[Any], str | None]:
    """Summaries at the top of channel reports: the LLM's when configured (cached), else the
    automatic one, marked as such."""
    from .assistant.cache import SummaryCache
    from .assistant.llm import llm_from_settings
    from .assistant.summaries import summarize

    llm = llm_from_settings(settings)
    cache = SummaryCache(registry.engine)
    return lambda diff: summarize(diff, llm=llm, cache=cache).marked


def serve_forever(settings: Settings, registry: Registry, say: Callable[[str], None]) -> None:
    service = build_service(settings, registry)
    service.start()
    mode = "Socket Mode" if service.socket_handler else "HTTP"
    say(
        f"modeltrail serving on http://{settings.http_host}:{service.port} "
        f"(/healthz{', /slack/events' if '/slack/events' in service.router.routes else ''})"
    )
    if settings.slack_bot_token:
        say(
            f"Slack: {mode}, command {settings.slack_command}, reports to "
            f"{settings.slack_channel or 'each model’s channel'}"
        )
    else:
        say("Slack: not configured (SLACK_BOT_TOKEN unset); serving /healthz only")
    stopped = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stopped.wait()
    say("stopping…")
    service.stop()
