"""``routerd``: run the daemon in the foreground (systemd, launchd or ``routerctl start`` supervise it).

Exit codes: 0 after a clean stop (a SIGTERM or SIGINT during start-up included: the daemon stops as
soon as its handler is in place, see ``routerd.signals``), 1 when another daemon is running, the
socket cannot be bound or the state database cannot be used (another daemon holds it, or it is no
routerd database), 2 for a bad command line or an invalid config file at start (a config file named
by ``--config`` or ``ROUTERD_CONFIG`` that does not exist included, unless it is the default path).
"""

import argparse
import gc
import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from routerd import signals
from routerd.paths import config_path, default_config_path, socket_path
from routerd.version import VERSION

if TYPE_CHECKING:
    from routerd.startup import Bound, DaemonOptions


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="routerd", description="routerd, the local-first LLM router daemon")
    parser.add_argument("--config", type=Path, help="config file (default: $ROUTERD_CONFIG or "
                        "$XDG_CONFIG_HOME/routerd/config.toml, the only path that may be missing: built-in "
                        "defaults)")
    parser.add_argument("--socket", type=Path, help="Unix socket path (default: $ROUTERD_SOCKET or "
                        "$XDG_RUNTIME_DIR/routerd/routerd.sock)")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default=os.environ.get("ROUTERD_BACKEND", "asyncio"),
                        help="event loop (asyncio uses uvloop when installed)")
    parser.add_argument("--no-uvloop", action="store_true", help="use the stock asyncio loop")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--version", action="version", version=f"routerd {VERSION}")
    return parser.parse_args(argv)


def _has_uvloop() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def _missing_backend(backend: str) -> str | None:
    """Why ``backend`` cannot run here (trio is an optional extra), or None."""
    if backend != "trio":
        return None
    try:
        if importlib.util.find_spec("trio") is not None:
            return None
    except ImportError:
        pass
    return ("the trio backend needs the trio package, which is not installed: "
            "pip install 'routerd[trio]' (or run with --backend asyncio)")


def _named_config(flag: Path | None) -> bool:
    """Whether the config file was named (``--config``, ``ROUTERD_CONFIG``) as another path than
    the default one, the only path that may be missing (the service units pass it explicitly)."""
    named = flag or (Path(os.environ["ROUTERD_CONFIG"]) if os.environ.get("ROUTERD_CONFIG") else None)
    return named is not None and named.absolute() != default_config_path().absolute()


def main(argv: list[str] | None = None) -> int:
    signals.hold()  # first, before the imports: a signal during start-up waits for the handler
    args = parse_args(argv)
    if why := _missing_backend(args.backend):
        print(f"routerd: {why}", file=sys.stderr)
        return 2
    # Imported in two steps, each where it is first needed: what binding the listeners takes, then,
    # with them bound, the rest of the daemon, so that a restart's gap, in which the ports refuse
    # connections, lasts only the first (bench/bench_socket.py --only restart).
    from routerd.errors import ConfigError
    from routerd.listeners import AlreadyRunning
    from routerd.startup import DaemonOptions, bind_listeners
    from routerd.store.db import StateUnavailable

    use_uvloop = args.backend == "asyncio" and not args.no_uvloop and _has_uvloop()
    options = DaemonOptions(
        config_path=args.config or config_path(),
        socket_path=args.socket or socket_path(),
        backend="asyncio+uvloop" if use_uvloop else args.backend,
        log_level=args.log_level,
        config_required=_named_config(args.config),
    )
    try:
        _run(options, bind_listeners(options), args.backend, {"use_uvloop": True} if use_uvloop else {})
    except ConfigError as exc:
        print(f"routerd: invalid config: {exc.message}", file=sys.stderr)
        return 2
    except AlreadyRunning as exc:
        print(f"routerd: {exc}", file=sys.stderr)
        return 1
    except StateUnavailable as exc:
        print(f"routerd: cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"routerd: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def _run(options: "DaemonOptions", bound: "Bound", backend: str, backend_options: dict[str, bool]) -> None:
    """Serve on ``bound`` until stopped (``run_daemon`` closes it however it ends)."""
    try:
        import anyio

        from routerd.daemon import limit_malloc_arenas, run_daemon
    except BaseException:  # ``run_daemon`` never ran: closing it falls to this
        bound.close()
        raise
    # Everything imported so far lives as long as the process: keep it out of every collection
    # (profiled under gateway load: full collections scanning it paused the loop for 10-20 ms).
    gc.collect()
    gc.freeze()
    limit_malloc_arenas()  # no thread has started yet
    anyio.run(run_daemon, options, bound, backend=backend, backend_options=backend_options)


if __name__ == "__main__":
    sys.exit(main())
