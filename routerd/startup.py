"""The daemon's start up to its bound listeners: the config (a file that does not parse is fatal,
with the reason), logging, the Unix socket path (refused while another daemon is live on it), the
Unix and HTTP listeners (the HTTP one refused beyond loopback without a gateway key).

Blocking (files, sockets). ``routerd.main`` runs it before the event loop and before it imports
the rest of the daemon (the runtime and the dialects, the gateway, the app, the fronts: most of the
start's imports), so that a restart's gap, in which the ports refuse connections, lasts only this
far: a connection made later waits in the listeners' backlog until the daemon serves it. The
runtime is built from the config once they are bound (``routerd.daemon.run_daemon``): a config that
parses but fails there (a name that refers to nothing) still stops the start with the reason, its
listeners closed and its socket file removed.
"""

import os
import socket
from dataclasses import dataclass, replace
from pathlib import Path

from routerd import sdnotify
from routerd.config import Config, read_config
from routerd.config_where import ConfigText
from routerd.listeners import address_of, bind_http, bind_unix, prepare_socket_path
from routerd.logs import SecretScrubber, setup_logging


@dataclass(frozen=True)
class DaemonOptions:
    config_path: Path | None
    socket_path: Path
    backend: str
    log_level: str | None = None
    watch_config: bool = True
    handle_signals: bool = True
    http: bool | None = None  # None: as the config says
    config_required: bool = False  # named by --config or ROUTERD_CONFIG: it must exist


@dataclass
class Bound:
    """What the start made before serving: the config and the text it was read from (None: built-in
    defaults), and the listeners, which the daemon owns from here on (``close``)."""
    config: Config
    text: ConfigText | None
    scrubber: SecretScrubber
    unix_sock: socket.socket
    http_sock: socket.socket | None
    socket_path: Path | None  # the socket file bound here (None: handed over by socket activation)
    closed: bool = False

    @property
    def address(self) -> str | None:
        return address_of(self.http_sock) if self.http_sock is not None else None

    def close(self) -> None:
        """Remove the socket file bound here, then close the listeners (blocking). In that order:
        once the socket is closed, a new daemon may take the path (a refused probe means a stale
        file), and removing it then would remove the new daemon's socket. Once only."""
        if self.closed:
            return
        self.closed = True
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)
        self.unix_sock.close()
        if self.http_sock is not None:
            self.http_sock.close()


def bind_listeners(options: DaemonOptions) -> Bound:
    """Read the config and bind the listeners; ``ConfigError``, ``AlreadyRunning`` or ``OSError``
    (``CannotListen``) when the daemon cannot start, with nothing left bound."""
    config, text = read_config(options.config_path, required=options.config_required)
    scrubber = setup_logging(options.log_level or config.daemon.log_level)
    activated = sdnotify.listen_fds()
    unix_sock = next((s for s in activated.values() if s.family == socket.AF_UNIX), None)
    bound_path = None
    if unix_sock is None:
        prepare_socket_path(options.socket_path)
        unix_sock = bind_unix(options.socket_path)
        bound_path = options.socket_path
    bound = Bound(config=config, text=text, scrubber=scrubber, unix_sock=unix_sock, http_sock=None,
                  socket_path=bound_path)
    try:
        if config.http.enabled if options.http is None else options.http:
            bound = replace(bound, http_sock=bind_http(config, os.environ, activated))
    except BaseException:
        bound.close()
        raise
    return bound
