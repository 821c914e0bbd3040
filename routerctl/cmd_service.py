"""``routerctl service install | uninstall | status``: run routerd under systemd (Linux, a user unit)
or launchd (macOS, an agent), with absolute paths to this venv's ``routerd`` and the config file.

``--no-start`` writes the files only (for machines without a user session bus); ``--dry-run`` prints
them. A failing systemctl/launchctl is reported with the command to run by hand.
"""

import os
import subprocess
import sys
from pathlib import Path

import click

from routerctl import output


def _target(target: str | None) -> str:
    return target or ("launchd" if sys.platform == "darwin" else "systemd")


def _paths():
    from routerd.integrations.service import ServicePaths
    from routerd.paths import config_path, state_path

    routerd = Path(os.path.abspath(sys.executable)).parent / "routerd"
    log = state_path().parent / "routerd.log"
    config = config_path().absolute()
    return ServicePaths(routerd=str(routerd), config=str(config), log=str(log.absolute()),
                        env_file=str(config.parent / "routerd.env"))


def _create_env_file(path: Path) -> None:
    """The service's EnvironmentFile: created empty (a commented header) with mode 0600, never
    overwritten; an existing one is made 0600 if others could read it."""
    from routerd.integrations.service import ENV_FILE_HEADER

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
            click.echo(f"{path}: made private (mode 0600)")
        return
    with os.fdopen(fd, "w") as file:
        file.write(ENV_FILE_HEADER)
    click.echo(f"wrote {path} (mode 0600): put provider keys there, one KEY=value per line")


def _unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def _agent_path() -> Path:
    from routerd.integrations.service import AGENT_LABEL

    return Path.home() / "Library" / "LaunchAgents" / f"{AGENT_LABEL}.plist"


def _files(target: str, socket: bool) -> dict[Path, str]:
    from routerd.integrations import service

    if target == "launchd":
        return {_agent_path(): service.launchd_plist(_paths())}
    return {_unit_dir() / name: text for name, text in service.systemd_units(_paths(), socket).items()}


def _run(args: list[str]) -> bool:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        click.echo(f"could not run `{' '.join(args)}`: {exc}", err=True)
        return False
    if proc.returncode != 0:
        click.echo(f"`{' '.join(args)}` failed: {proc.stderr.strip()}", err=True)
    return proc.returncode == 0


def _start_commands(target: str, socket: bool, files: dict[Path, str]) -> list[list[str]]:
    if target == "launchd":
        return [["launchctl", "bootstrap", f"gui/{os.getuid()}", str(next(iter(files)))]]
    unit = "routerd.socket" if socket else "routerd.service"
    return [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", unit]]


@click.group()
def service() -> None:
    """Run routerd as a systemd user service or a launchd agent."""


@service.command("install")
@click.option("--socket", "socket", is_flag=True, help="systemd: also install socket activation")
@click.option("--no-start", is_flag=True, help="write the files, do not enable or start")
@click.option("--dry-run", is_flag=True, help="print the files, write nothing")
@click.option("--target", type=click.Choice(["systemd", "launchd"]), hidden=True)
def service_install(socket: bool, no_start: bool, dry_run: bool, target: str | None) -> None:
    """Write the service definition (absolute paths) and enable it."""
    target = _target(target)
    files = _files(target, socket)
    for path, text in files.items():
        if dry_run:
            click.echo(f"# {path}\n{text}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        click.echo(f"wrote {path}")
    if target == "systemd" and not dry_run:
        _create_env_file(Path(_paths().env_file))
    if dry_run or no_start:
        return
    for command in _start_commands(target, socket, files):
        if not _run(command):
            output.fail("the service files are written; start it with: " + " ".join(command), 1)
    click.echo("routerd service enabled and started")


@service.command("uninstall")
@click.option("--target", type=click.Choice(["systemd", "launchd"]), hidden=True)
def service_uninstall(target: str | None) -> None:
    """Stop and disable the service, and remove its files."""
    target = _target(target)
    if target == "launchd":
        _run(["launchctl", "bootout", f"gui/{os.getuid()}", str(_agent_path())])
        paths = [_agent_path()]
    else:
        _run(["systemctl", "--user", "disable", "--now", "routerd.socket", "routerd.service"])
        paths = [_unit_dir() / "routerd.service", _unit_dir() / "routerd.socket"]
    for path in paths:
        if path.exists():
            path.unlink()
            click.echo(f"removed {path}")
    if target == "systemd":
        _run(["systemctl", "--user", "daemon-reload"])


@service.command("status")
@click.option("--target", type=click.Choice(["systemd", "launchd"]), hidden=True)
def service_status(target: str | None) -> None:
    """Show whether the service files are installed and what the service manager says."""
    target = _target(target)
    paths = [_agent_path()] if target == "launchd" else [_unit_dir() / "routerd.service",
                                                          _unit_dir() / "routerd.socket"]
    rows = [(path.name, str(path) if path.exists() else "not installed") for path in paths]
    command = (["launchctl", "print", f"gui/{os.getuid()}/dev.routerd"] if target == "launchd"
               else ["systemctl", "--user", "is-active", "routerd.service"])
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=10)
        state = (proc.stdout.strip() or proc.stderr.strip()).splitlines()[0:1]
    except (OSError, subprocess.TimeoutExpired) as exc:
        state = [f"unknown ({exc})"]
    rows.append(("state", state[0] if state else "unknown"))
    output.emit_fields(rows)


COMMANDS = [service]
