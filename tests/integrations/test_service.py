"""``routerctl service``: the systemd units pass ``systemd-analyze verify`` and the launchd plist
parses, both with absolute paths to this venv's routerd and the config."""

import os
import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from routerctl.main import cli
from routerd.integrations.service import ServicePaths, systemd_units


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / ".state"))
    monkeypatch.delenv("ROUTERD_CONFIG", raising=False)
    return tmp_path


def _verify(paths: list[Path], tmp_path: Path) -> subprocess.CompletedProcess:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_LEVEL": "warning"}
    return subprocess.run(["systemd-analyze", "verify", "--user", *map(str, paths)],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (scripts/test installs the systemd package)")
def test_systemd_units_verify(home: Path, tmp_path: Path):
    """service install --socket --no-start writes units that systemd-analyze verify accepts."""
    result = CliRunner().invoke(cli, ["service", "install", "--socket", "--no-start", "--target", "systemd"])
    assert result.exit_code == 0, result.output
    unit_dir = home / ".config" / "systemd" / "user"
    service = (unit_dir / "routerd.service").read_text()
    assert "Type=notify" in service and "Restart=on-failure" in service
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert exec_start.split("=", 1)[1].split()[0].startswith("/")
    assert f"--config {home}/.config/routerd/config.toml" in exec_start
    verified = _verify([unit_dir / "routerd.service", unit_dir / "routerd.socket"], tmp_path)
    assert verified.returncode == 0, verified.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_verify_catches_a_broken_unit(tmp_path: Path):
    """The check can fail: a relative ExecStart is rejected by systemd-analyze."""
    text = systemd_units(ServicePaths(routerd="/bin/true", config="/c.toml", log="/l"), False)["routerd.service"]
    bad = tmp_path / "routerd.service"
    bad.write_text(text.replace("ExecStart=/bin/true", "ExecStart=routerd-nowhere"))
    assert _verify([bad], tmp_path).returncode != 0


def test_paths_with_spaces_are_quoted(tmp_path: Path):
    """A venv under a directory with a space still yields one ExecStart argument per path."""
    text = systemd_units(ServicePaths(routerd="/a b/routerd", config="/c%d.toml", log="/l"), False)
    assert 'ExecStart="/a b/routerd" --config /c%%d.toml' in text["routerd.service"]


def test_launchd_plist_parses_with_absolute_paths(home: Path):
    """service install --target launchd writes a plist that plistlib reads, absolute everywhere."""
    result = CliRunner().invoke(cli, ["service", "install", "--no-start", "--target", "launchd"])
    assert result.exit_code == 0, result.output
    with (home / "Library" / "LaunchAgents" / "dev.routerd.plist").open("rb") as f:
        plist = plistlib.load(f)
    assert plist["Label"] == "dev.routerd" and plist["RunAtLoad"] is True
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    program, flag, config = plist["ProgramArguments"]
    assert Path(program).is_absolute() and program.endswith("/routerd") and flag == "--config"
    assert Path(config).is_absolute() and Path(plist["StandardErrorPath"]).is_absolute()


def test_uninstall_removes_the_units(home: Path):
    """service uninstall removes what install wrote (systemctl failing is reported, not fatal)."""
    runner = CliRunner()
    runner.invoke(cli, ["service", "install", "--socket", "--no-start", "--target", "systemd"])
    result = runner.invoke(cli, ["service", "uninstall", "--target", "systemd"])
    assert result.exit_code == 0, result.output
    assert not list((home / ".config" / "systemd" / "user").iterdir())
