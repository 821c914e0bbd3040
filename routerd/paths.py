"""Where routerd keeps its files (DESIGN.md §2). Pure functions of the environment passed in."""

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_HTTP_LISTEN = "127.0.0.1:4141"


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("ROUTERD_CONFIG"):
        return Path(env["ROUTERD_CONFIG"])
    return default_config_path(env)


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    """The one config path that may be missing (routerd then runs on built-in defaults): any other,
    named by ``--config`` or ``ROUTERD_CONFIG``, must exist. The service units name this one too."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "routerd" / "config.toml"


def state_path(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_STATE_HOME") or str(
        Path(env.get("HOME", "~")).expanduser() / ".local" / "state"
    )
    return Path(base) / "routerd" / "routerd.db"


def socket_path(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("ROUTERD_SOCKET"):
        return Path(env["ROUTERD_SOCKET"])
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "routerd" / "routerd.sock"
    return Path(f"/tmp/routerd-{os.getuid()}") / "routerd.sock"
