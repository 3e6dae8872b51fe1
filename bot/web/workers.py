"""`serve --workers N`: the HTTP endpoint answered by N processes, everything else by one.

One Python process answers at most ~5,000 cached API requests a second here, whatever its
thread count: its threads take turns on the GIL, and under 50 connections most of a request's
time is spent waiting for it (bench/RESULTS.md, issue 17). Processes do not share a GIL.

The processes:
- the primary builds the service once (imports, templates, the Slack app), sets the
  registry's past aside for the dispatcher, binds the listening sockets, and forks. It never
  starts a thread, so it can fork a replacement for a child at any time (forking a process
  that runs threads copies locks other threads hold). It restarts a child that dies, and
  gives up, stopping the rest, when children keep dying soon after they start.
- N HTTP workers, each serving the port through a socket of its own (SO_REUSEPORT, all
  bound by the primary): the kernel spreads connections over them evenly (one shared socket
  let the first worker awake take most of a burst of connections, and left one of three idle),
  and a socket outlives its worker, so connections made while a worker restarts wait in its
  queue instead of being refused.
- one background process, when anything is configured for it: the outbox dispatcher, the
  digest scheduler, the MLflow poller, the audit anchor, the Slack link and Socket Mode. Each
  of those must run once per service, not once per worker.

Each process opens its own database connections (the primary closes its own before it forks,
and each child drops any pooled one it inherited without closing it). Each HTTP worker keeps
its own answer cache, as fresh as one process's: every request probes the audit head.
`/metrics` sums over the processes: prometheus_client's multiprocess mode, in a directory
`serve` makes and removes (metrics.share_between_processes). `/healthz` shows the Slack link's
status as the background process sees it, through a small shared cell.

SIGTERM or SIGINT to the primary stops every child (SIGTERM, then SIGKILL after
STOP_SECONDS); a child whose primary is gone (killed with SIGKILL) notices the pipe it holds
closing and stops too.
"""

from __future__ import annotations

import logging
import mmap
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from modeltrail.core.config import Settings
from modeltrail.core.errors import ModeltrailError

log = logging.getLogger("modeltrail.serve")

STOP_SECONDS = 10.0  # a child still running this long after SIGTERM is killed
# A child that dies within SOON seconds of its start counts towards giving up; this many such
# deaths in a row (a crash at start, a database that refuses every connection) end `serve`.
SOON = 10.0
GIVE_UP_AFTER = 5
POLL_SECONDS = 0.2
STATUS_BYTES = 64


@contextmanager
def metrics_directory() -> Iterator[str]:
    """Where the processes of one service count (removed afterwards), set up before anything
    is built, in a process that runs no other thread yet (it is going to fork)."""
    from modeltrail.bot.web import metrics

    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:
        raise ModeltrailError(
            f"cannot start HTTP workers: threads already run ({', '.join(others)})",
            hint="start `serve --workers` in a fresh process",
        )
    directory = tempfile.mkdtemp(prefix="modeltrail-metrics-")
    try:
        metrics.share_between_processes(directory)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def serve(
    service: Any, metrics_dir: str, say: Callable[[str], None], announce: Callable[[int], None]
) -> None:
    """Run a built, prepared service (server.py) with `settings.http_workers` HTTP worker
    processes until SIGTERM or SIGINT; `announce(port)` once they run. Raises ModeltrailError
    when children keep dying."""
    settings: Settings = service.settings
    sockets = listen(settings.http_host, settings.http_port, settings.http_workers)
    try:
        # The primary reads nothing after this; its children open their own connections.
        service.registry.engine.dispose()
        status = SharedText(STATUS_BYTES) if service.slack_link is not None else None
        if status is not None:
            service.router.checks["slack"] = status.read
        primary = Primary(metrics_dir)
        for number, sock in enumerate(sockets, 1):
            primary.add(f"http worker {number}", _http_worker(service, sock, sockets))
        if service.has_background:
            primary.add("background", _background(service, sockets, status))
        try:
            with primary.stopping_on_signals():
                primary.start_all()
                announce(int(sockets[0].getsockname()[1]))
                say(
                    f"HTTP: {settings.http_workers} worker processes"
                    + (", background loops in one more" if service.has_background else "")
                )
                outcome = primary.supervise()
            say("stopping…")
        finally:
            primary.stop_all()
        if outcome is not None:
            raise ModeltrailError(outcome, hint="see the log above for why the children died")
    finally:
        for sock in sockets:
            sock.close()


def listen(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` listening sockets on one address and port (SO_REUSEPORT), or one shared socket
    where the platform has no SO_REUSEPORT; port 0 picks a free port for all of them."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
    )[0]
    reuse_port = getattr(socket, "SO_REUSEPORT", None)
    made: list[socket.socket] = []
    try:
        for _ in range(count if reuse_port is not None else 1):
            sock = socket.socket(family, kind, proto)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port is not None:
                sock.setsockopt(socket.SOL_SOCKET, reuse_port, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            address = sock.getsockname()  # port 0 → the one picked, for the next sockets
            sock.listen(1024)
            sock.setblocking(False)
    except OSError as exc:
        for sock in made:
            sock.close()
        raise ModeltrailError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="is another server on that port? (MODELTRAIL_HTTP_PORT, --port)",
        ) from None
    return made if reuse_port is not None else made * count


class SharedText:
    """A short text one process writes and the others read after a fork: the Slack link's
    status, known in the background process and shown by every worker's /healthz.

    No lock: a process killed while holding one would leave every reader waiting forever.
    A sequence number instead (odd while the writer writes; a reader retries when it changed
    under it), which also survives a writer killed halfway: the next writer skips past it."""

    _SEQ = struct.Struct("Q")

    def __init__(self, size: int) -> None:
        self._size = size
        self._map = mmap.mmap(-1, self._SEQ.size + size)  # anonymous: shared with children
        self.write("connecting")

    def write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")[: self._size]
        (seq,) = self._SEQ.unpack_from(self._map, 0)
        writing = seq + 1 if seq % 2 == 0 else seq + 2
        self._SEQ.pack_into(self._map, 0, writing)
        self._map[self._SEQ.size :] = data.ljust(self._size, b"\0")
        self._SEQ.pack_into(self._map, 0, writing + 1)

    def read(self) -> str:
        for _ in range(1000):
            (before,) = self._SEQ.unpack_from(self._map, 0)
            data = self._map[self._SEQ.size :]
            if before % 2 == 0 and self._SEQ.unpack_from(self._map, 0)[0] == before:
                return data.rstrip(b"\0").decode("utf-8", "replace")
        return "unknown"


Stopper = Callable[[], None]


def _http_worker(
    service: Any, sock: socket.socket, sockets: list[socket.socket]
) -> Callable[[threading.Event], Stopper]:
    def start(stop: threading.Event) -> Stopper:
        for other in sockets:
            if other is not sock:
                other.close()
        service.registry.engine.dispose(close=False)  # the primary's, if any were left
        service.start_http(sockets=[sock])
        link = service.slack_link
        if link is not None and service.socket_handler is None:
            # Slack over HTTP: this worker's Bolt app needs the bot's identity, which the
            # link learns by asking Slack; its status for /healthz is the background's.
            threading.Thread(target=link.run, args=(stop,), name="slack-link", daemon=True).start()
        return service.stop

    return start


def _background(
    service: Any, sockets: list[socket.socket], status: SharedText | None
) -> Callable[[threading.Event], Stopper]:
    def start(stop: threading.Event) -> Stopper:
        for sock in sockets:
            sock.close()
        service.registry.engine.dispose(close=False)
        service.start_background()
        if status is not None:

            def publish() -> None:
                while not stop.wait(0.5):
                    status.write(service.slack_link.status)

            threading.Thread(target=publish, name="slack-status", daemon=True).start()
        return service.stop

    return start


@dataclass
class Child:
    role: str
    start: Callable[[threading.Event], Stopper]  # run in the child: start, return the stopper
    pid: int = 0
    started: float = 0.0


class _Flag:
    """Set by a signal handler: a plain attribute, because a handler that takes a lock (as
    Event.set does) deadlocks when the signal lands while the main thread holds that lock."""

    raised = False

    def raise_(self, *_: object) -> None:
        self.raised = True

    def wait(self, seconds: float) -> bool:
        if not self.raised:
            time.sleep(seconds)  # a signal does not cut it short (PEP 475): keep it short
        return self.raised


@dataclass
class Primary:
    """Forks the children, restarts those that die, stops them all."""

    metrics_dir: str
    children: list[Child] = field(default_factory=list)
    stopped: _Flag = field(default_factory=_Flag)
    quick_deaths: int = 0
    # Closed only by the primary's exit: a child reading EOF from it knows it is orphaned.
    _lifeline: tuple[int, int] = field(default_factory=os.pipe)

    def add(self, role: str, start: Callable[[threading.Event], Stopper]) -> None:
        self.children.append(Child(role, start))

    def start_all(self) -> None:
        for child in self.children:
            self.fork(child)

    def fork(self, child: Child) -> None:
        sys.stdout.flush()  # or the child would inherit, and later write, the same bytes
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the primary's code
            os._exit(_child_main(child, self._lifeline))
        child.pid, child.started = pid, time.monotonic()
        log.info("%s started (pid %d)", child.role, pid)

    def supervise(self) -> str | None:
        """Until a signal: restart children that die. None when stopped by a signal, else why
        it gave up."""
        while not self.stopped.wait(POLL_SECONDS):
            for child in self.children:
                pid, status = _reap(child.pid) if child.pid else (0, 0)
                if not pid:
                    continue
                self._forget(child)
                if self.stopped.raised:
                    break
                how, lived = _how(status), time.monotonic() - child.started
                self.quick_deaths = self.quick_deaths + 1 if lived < SOON else 0
                if self.quick_deaths >= GIVE_UP_AFTER:
                    log.critical("%s (pid %d) %s; giving up", child.role, pid, how)
                    return (
                        f"serve stopped: its worker processes died {self.quick_deaths} times "
                        f"in a row within {SOON:g} s of starting (last: {child.role}, {how})"
                    )
                log.error(
                    "%s (pid %d) %s after %.1f s; starting it again", child.role, pid, how, lived
                )
                self.fork(child)
        return None

    def stop_all(self) -> None:
        running = [c for c in self.children if c.pid]
        for child in running:
            _signal(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while running and time.monotonic() < deadline:
            for child in list(running):
                if _reap(child.pid)[0]:
                    self._forget(child)
                    running.remove(child)
            if running:
                time.sleep(0.05)
        for child in running:
            log.warning(
                "%s (pid %d) did not stop in %g s: killed", child.role, child.pid, STOP_SECONDS
            )
            _signal(child.pid, signal.SIGKILL)
            with suppress(ChildProcessError):
                os.waitpid(child.pid, 0)
            self._forget(child)

    def _forget(self, child: Child) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(child.pid, self.metrics_dir)
        child.pid = 0

    @contextmanager
    def stopping_on_signals(self) -> Iterator[None]:
        old = {s: signal.signal(s, self.stopped.raise_) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)


def _child_main(child: Child, lifeline: tuple[int, int]) -> int:
    """The forked child's whole life; returns its exit code (never raises)."""
    flag = _Flag()
    stop = threading.Event()  # for the child's threads; set by the main thread, never a handler
    try:
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, flag.raise_)
        read_end, write_end = lifeline
        os.close(write_end)
        threading.Thread(
            target=_watch_primary, args=(read_end, stop), name="lifeline", daemon=True
        ).start()
        stopper = child.start(stop)
    except BaseException:
        log.exception("%s failed to start", child.role)
        logging.shutdown()
        return 1
    code = 0
    try:
        while not flag.wait(POLL_SECONDS) and not stop.is_set():
            pass
        stop.set()
        stopper()
    except BaseException:
        log.exception("%s failed to stop", child.role)
        code = 1
    finally:
        logging.shutdown()  # flush what this process logged; os._exit skips it
    return code


def _watch_primary(read_end: int, stop: threading.Event) -> None:
    try:
        while os.read(read_end, 1):
            pass
    except OSError:
        pass
    stop.set()


def _reap(pid: int) -> tuple[int, int]:
    try:
        return os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # already reaped
        return pid, 0


def _signal(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
