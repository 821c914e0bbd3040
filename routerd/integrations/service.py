"""Service definitions for routerd: a systemd user unit (``Type=notify``, restart on failure, an
optional socket unit, an ``EnvironmentFile`` for keys) and a launchd agent. Pure: the templates in
``routerd/integrations/units/`` (package data, so they are there in a wheel too) with absolute paths
filled in. ``routerctl service`` writes them, creates the environment file, and drives systemctl /
launchctl.
"""

from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from xml.sax.saxutils import escape

UNIT = "routerd.service"
SOCKET_UNIT = "routerd.socket"
AGENT_LABEL = "dev.routerd"
ENV_FILE_HEADER = """\
# Environment for the routerd service (systemd EnvironmentFile): one KEY=value per line, e.g.
#   ANTHROPIC_API_KEY=sk-ant-...
#   ROUTERD_GATEWAY_KEY=...
# A service does not see the variables your shell exports. Keep this file mode 0600; after a
# change run `systemctl --user restart routerd`.
"""


@dataclass(frozen=True)
class ServicePaths:
    routerd: str        # absolute path of the venv's routerd entry point
    config: str         # absolute path of the config file (it may not exist yet)
    log: str            # launchd only: where stdout/stderr go
    env_file: str = ""  # systemd only: the EnvironmentFile with keys


def _template(name: str) -> str:
    return resources.files("routerd.integrations").joinpath("units", name).read_text(encoding="utf-8")


def _fill(template: str, paths: ServicePaths, xml: bool = False) -> str:
    quote = escape if xml else systemd_quote
    for name, value in (("ROUTERD", paths.routerd), ("CONFIG", paths.config), ("LOG", paths.log),
                        ("ENVFILE", paths.env_file)):
        if f"@{name}@" not in template:
            continue
        if not PurePosixPath(value).is_absolute():
            raise ValueError(f"{name.lower()} path must be absolute: {value!r}")
        template = template.replace(f"@{name}@", quote(value) if name != "ENVFILE" else value.replace("%", "%%"))
    return template


def systemd_quote(value: str) -> str:
    """One ``ExecStart=`` argument: ``%`` and ``$`` doubled (specifiers and variable expansion);
    quoted, with ``\\`` and ``"`` escaped, when it holds a space, a quote or a backslash."""
    value = value.replace("%", "%%").replace("$", "$$")
    if not any(c in value for c in ' \t"\'\\'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_units(paths: ServicePaths, socket: bool) -> dict[str, str]:
    """File name -> text of the user units to install."""
    units = {UNIT: _fill(_template(UNIT), paths)}
    if socket:
        units[SOCKET_UNIT] = _template(SOCKET_UNIT)
    return units


def launchd_plist(paths: ServicePaths) -> str:
    return _fill(_template(f"{AGENT_LABEL}.plist"), paths, xml=True)
