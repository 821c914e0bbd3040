"""Service definitions for routerd: a systemd user unit (``Type=notify``, restart on failure, an
optional socket unit) and a launchd agent. Pure: the templates in ``systemd/`` and ``launchd/`` with
absolute paths filled in. ``routerctl service`` writes them and drives systemctl / launchctl.
"""

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD_DIR = ROOT / "systemd"
LAUNCHD_DIR = ROOT / "launchd"
UNIT = "routerd.service"
SOCKET_UNIT = "routerd.socket"
AGENT_LABEL = "dev.routerd"


@dataclass(frozen=True)
class ServicePaths:
    routerd: str   # absolute path of the venv's routerd entry point
    config: str    # absolute path of the config file (it may not exist yet)
    log: str       # launchd only: where stdout/stderr go


def _fill(template: str, paths: ServicePaths, xml: bool = False) -> str:
    quote = escape if xml else _systemd_quote
    for name, value in (("ROUTERD", paths.routerd), ("CONFIG", paths.config), ("LOG", paths.log)):
        if not Path(value).is_absolute():
            raise ValueError(f"{name.lower()} path must be absolute: {value!r}")
        template = template.replace(f"@{name}@", quote(value))
    return template


def _systemd_quote(value: str) -> str:
    """Quote a path for ExecStart= (systemd splits on spaces; % introduces specifiers)."""
    value = value.replace("%", "%%")
    return f'"{value}"' if any(c in value for c in ' "\\') else value


def systemd_units(paths: ServicePaths, socket: bool) -> dict[str, str]:
    """File name -> text of the user units to install."""
    units = {UNIT: _fill((SYSTEMD_DIR / UNIT).read_text(), paths)}
    if socket:
        units[SOCKET_UNIT] = (SYSTEMD_DIR / SOCKET_UNIT).read_text()
    return units


def launchd_plist(paths: ServicePaths) -> str:
    return _fill((LAUNCHD_DIR / f"{AGENT_LABEL}.plist").read_text(), paths, xml=True)
