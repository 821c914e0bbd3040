"""Running the daemon: open every resource through one exit stack, serve, drain, close.

Order of start: what ``routerd.startup`` does (the config, a file that does not parse being fatal
with the reason; the socket path, refused when another daemon is live; the listeners), then the
runtime built from the config (fatal too, with the reason, when it names what does not exist), the
store, the gateway's pools, the app and its parts' persisted state, then the
servers in one task group, the signal handler, and READY. The classifier's files (most of a second
to parse) load in a worker thread after READY (``routerd.routing.brain``): READY means the listeners
serve, and what needs the classifier waits for it there, so a restart leaves no gap in which the
ports refuse connections. SIGTERM, SIGINT and SIGHUP are held (``routerd.signals``) until the
handler is in place, and again once it is gone: one sent during start-up stops the daemon as soon as
it serves. On SIGTERM or a ``stop`` request the daemon drains: it takes no new requests (it answers
them: a retryable 503 over HTTP, ``shutting_down`` on the socket), lets in-flight requests finish
within ``daemon.drain_timeout_s`` (a second SIGTERM or SIGINT ends that wait), then cuts what is
left (its clients get a last word), closes the store (committing its queue), removes its socket
file and closes the listeners.
"""

import ctypes
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import anyio
import anyio.to_thread
from anyio import open_signal_receiver  # imported here: anyio loads it lazily, which needs a free descriptor
from anyio.abc import SocketListener, TaskStatus

from routerd import sdnotify, signals
from routerd.app import App, pools_of
from routerd.fronts.http import serve_http
from routerd.fronts.socket import serve_socket
from routerd.gateway.gateway import open_gateway
from routerd.ids import Ids
from routerd.ledger.spending import SYNC_S, Spending
from routerd.ledger.state import Ledger
from routerd.paths import state_path as default_state_path
from routerd.resilience.board import Resilience
from routerd.runtime import Runtime, build_runtime
from routerd.startup import Bound, DaemonOptions, bind_listeners
from routerd.store.store import open_store


@contextmanager
def _without_package_init(name: str) -> Iterator[None]:
    """Import submodules of the package ``name`` without running its ``__init__``: the package stands
    in ``sys.modules`` unexecuted while they import; then it and they are taken out again (the
    importer keeps what it took from them), so that a later ``import name`` loads it afresh, whole.
    Nothing to do when the package is imported already."""
    spec = None if name in sys.modules else importlib.util.find_spec(name)
    if spec is None:
        yield
        return
    before = set(sys.modules)
    sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        yield
    finally:
        for module in [m for m in sys.modules if (m == name or m.startswith(name + ".")) and m not in before]:
            del sys.modules[module]


# watchfiles' __init__ imports watchfiles.run, for its run_process: multiprocessing, pickle and their
# helpers, which the daemon never uses and which held 0.9 MB of its idle RSS (bench/bench_gateway.py).
# Another watchfiles (the dependency allows <2) whose modules need their package's __init__ gets
# imported whole, as any package is.
try:
    with _without_package_init("watchfiles"):
        from watchfiles._rust_notify import WatchfilesRustInternalError
        from watchfiles.main import awatch
except ImportError:  # pragma: no cover - watchfiles 1.3 imports as above
    from watchfiles import awatch
    from watchfiles._rust_notify import WatchfilesRustInternalError

log = logging.getLogger("routerd")


async def run_daemon(options: DaemonOptions, bound: Bound | None = None, *,
                     task_status: TaskStatus[App] = anyio.TASK_STATUS_IGNORED) -> None:
    """Serve until stopped, on ``bound`` (``routerd.startup.bind_listeners``; made here, in a worker
    thread, when not given), which this owns from its first line: closed however the run ends."""
    if bound is None:
        bound = await anyio.to_thread.run_sync(bind_listeners, options)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(_close, bound)
        runtime = await anyio.to_thread.run_sync(_build_runtime, options, bound)
        config = runtime.config
        state = Path(config.state.path) if config.state.path else default_state_path()
        listener = await SocketListener.from_socket(bound.unix_sock)
        http_listener = await SocketListener.from_socket(bound.http_sock) if bound.http_sock is not None else None
        store = await stack.enter_async_context(open_store(state, config.state.retain_days))
        resilience, ids, ledger = Resilience(runtime.config, pools_of(runtime)), Ids(), Ledger()
        spending = Spending(runtime.config.budgets, ledger, store)
        gateway = await stack.enter_async_context(open_gateway(store, resilience, ids, ledger, runtime,
                                                               bound.address, spending))
        app = App(runtime=runtime, store=store, resilience=resilience, ids=ids, ledger=ledger, gateway=gateway,
                  socket_path=options.socket_path, backend=options.backend, scrubber=bound.scrubber)
        await app.load()
        await _serve(app, options, listener, http_listener, task_status)
        app.save_limits()
        await _close(bound)  # at once, before the store closes: what made it a daemon is over
    log.info("routerd stopped")


def _build_runtime(options: DaemonOptions, bound: Bound) -> Runtime:
    """The runtime built from the config the listeners were bound for (``ConfigError`` when it
    names what does not exist), its warnings logged. Blocking (reads the price snapshot)."""
    runtime = build_runtime(bound.config, options.config_path, os.environ, bound.address, bound.text)
    for warning in runtime.warnings:
        log.warning("config: %s", warning)
    return runtime


async def _close(bound: Bound) -> None:
    """The socket file removed and the listeners closed (once), also when the run is cancelled."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(bound.close)


async def _load_brain(app: App) -> None:
    """Load the classifier's files while serving, then trim the heap their parsing left behind."""
    sdnotify.notify("STATUS=serving; loading the classifier")
    await app.brain.load()
    await anyio.to_thread.run_sync(_trim_heap)
    if not app.stop_requested.is_set():  # once STOPPING=1 is said, the supervisor hears nothing else
        sdnotify.notify(f"STATUS=serving{'' if app.brain.error is None else '; the classifier failed to load'}")


# glibc's malloc gives each new thread that allocates an arena of its own, up to eight per core, and
# each keeps the pages it touched: the store's writer, the config watcher, the worker threads that
# loaded the brain or read the store. Two arenas, the event loop's and one the other threads share
# (they allocate little, and seldom at the same time): idle RSS 59.3 -> 59.0 MB with asyncio, 59.6 ->
# 59.2 with trio, throughput and latency unchanged within the noise (bench/bench_gateway.py --quick,
# three runs each taking turns with MALLOC_ARENA_MAX=16, glibc's default on two cores).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter, from glibc's malloc.h


def limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at ``MALLOC_ARENAS``, before the process starts its threads (glibc
    only; a ``MALLOC_ARENA_MAX`` set in the environment is the user's choice and stays)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_ARENA_MAX, MALLOC_ARENAS)


def _trim_heap() -> None:
    """Give the C heap's free pages back to the system once the brain is loaded (glibc's
    `malloc_trim`; elsewhere nothing to do). Reading the model file and its index leaves freed
    buffers between live objects, in the loading thread's arena too, which the allocator keeps
    resident until told otherwise."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


async def _serve(app: App, options: DaemonOptions, listener: SocketListener,
                 http_listener: SocketListener | None, task_status: TaskStatus[App]) -> None:
    """Run the servers until a stop is asked, then drain: let in-flight requests finish within
    ``daemon.drain_timeout_s``, cut what is left (``App.cut``: the fronts answer it within
    ``CUT_ANSWER_S``), cancel the rest. Both listeners accept until the end, and what arrives
    meanwhile is answered, not served (``App.begin_drain``)."""
    async with anyio.create_task_group() as tg:
        await tg.start(serve_socket, app, listener)
        if http_listener is not None:
            await tg.start(serve_http, app, http_listener)
        if options.watch_config and options.config_path is not None:
            await tg.start(_watch_config, app, options.config_path)
        if options.handle_signals:
            await tg.start(_handle_signals, app)
        await tg.start(_sync_budgets, app)
        tg.start_soon(_keep_limits, app)
        sdnotify.notify("READY=1\nSTATUS=serving")
        tg.start_soon(_load_brain, app)
        log.info("routerd ready: socket %s, http %s (%s)", options.socket_path,
                 app.http_address or "off", options.backend)
        task_status.started(app)
        await app.stop_requested.wait()
        sdnotify.notify("STOPPING=1")
        timeout_s = app.runtime.config.daemon.drain_timeout_s
        log.info("stopping: draining %d in-flight request(s) for at most %g s (a second SIGTERM or Ctrl-C "
                 "stops at once)", app.inflight.count, timeout_s)
        app.begin_drain()
        await app.drain(timeout_s)
        if app.inflight.count:
            log.warning("drain over: cutting %d request(s) still in flight", app.inflight.count)
            app.cut()
            with anyio.move_on_after(CUT_ANSWER_S):
                await app.inflight.wait_idle()
        tg.cancel_scope.cancel()


# Once the drain is over, how long the fronts get to give the requests it cut their last word (a
# 503, or an error event ending a stream): a few hundred bytes per connection, written at once
# unless a client stopped reading, which this bounds.
CUT_ANSWER_S = 1.0


# How often the use of long limit windows is written: a kill -9 forgets at most this much of it.
SAVE_LIMITS_S = 15.0


async def _keep_limits(app: App) -> None:
    while True:
        await anyio.sleep(SAVE_LIMITS_S)
        app.save_limits()


async def _handle_signals(app: App, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    with open_signal_receiver(*signals.HANDLED) as received, signals.delivered():
        task_status.started()
        async for signum in received:
            if signum == signal.SIGHUP and app.stop_requested.is_set():  # as the socket refuses reload
                log.info("SIGHUP while stopping: not reloading")
            elif signum == signal.SIGHUP:
                sdnotify.notify("RELOADING=1")
                await app.reload("SIGHUP")
                sdnotify.notify("READY=1")
            elif app.stop_requested.is_set():  # asked twice (Ctrl-C again): do not wait any longer
                log.warning("%s while stopping: cancelling %d in-flight request(s) now",
                            signal.Signals(signum).name, app.inflight.count)
                app.end_drain()
            else:
                app.request_stop()


async def _sync_budgets(app: App, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Sum the budgets from the ledger before serving, then every ``SYNC_S``."""
    await app.spending.sync()
    task_status.started()
    while True:
        await anyio.sleep(SYNC_S)
        await app.spending.sync()


# How long the watcher lets a burst of writes settle before reloading; how often its thread looks at
# the stop event (so a stop waits at most this long for it); how often it wakes with no change.
WATCH_DEBOUNCE_MS = 200
WATCH_STEP_MS = 50
WATCH_TIMEOUT_MS = 1000
# A watcher that cannot be armed (no descriptor left, EMFILE, while a flood of connections holds
# them all) is re-armed after this long, doubling up to the cap: the daemon keeps serving meanwhile.
WATCH_RETRY_S = 1.0
WATCH_RETRY_MAX_S = 60.0


async def _watch_config(app: App, path: Path, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Reload when the config file changes. Watches the directory, since editors replace files.

    The watch thread polls ``app.stop_requested``, so the watcher ends within ``WATCH_STEP_MS`` of a
    stop instead of holding shutdown up. watchfiles arms its watch when iteration begins, just after
    ``started()``; a change in between is caught at the first wake-up by the file's stamp."""
    stamp = await anyio.to_thread.run_sync(_config_stamp, path, True)
    task_status.started()
    delay = WATCH_RETRY_S
    while not app.stop_requested.is_set():
        try:
            await _watch(app, path, stamp)
            return
        except (OSError, WatchfilesRustInternalError) as exc:
            log.warning("config watcher failed (%s); re-armed in %.0f s", exc, delay)
        with anyio.move_on_after(delay):
            await app.stop_requested.wait()
        delay = min(delay * 2, WATCH_RETRY_MAX_S)
        stamp = None  # what changed while unwatched is unknown: the first wake-up after re-arming reloads


async def _watch(app: App, path: Path, stamp: tuple[int, int] | None) -> None:
    first_wake = True
    async for changes in awatch(path.parent, stop_event=app.stop_requested, watch_filter=None,
                                debounce=WATCH_DEBOUNCE_MS, step=WATCH_STEP_MS,
                                rust_timeout=WATCH_TIMEOUT_MS, yield_on_timeout=True, recursive=False,
                                ignore_permission_denied=True):
        if not changes:
            if not first_wake or await anyio.to_thread.run_sync(_config_stamp, path) == stamp:
                first_wake = False
                continue
        elif not any(Path(p).name == path.name for _, p in changes):
            continue
        first_wake = False
        sdnotify.notify("RELOADING=1")
        await app.reload("file change")
        sdnotify.notify("READY=1")


def _config_stamp(path: Path, make_directory: bool = False) -> tuple[int, int] | None:
    """The file's (mtime_ns, size), None when it is absent; optionally creating its directory."""
    if make_directory:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size
