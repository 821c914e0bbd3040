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
    text = systemd_units(ServicePaths(routerd="/bin/true", config="/c.toml", log="/l", env_file="/e"),
                         False)["routerd.service"]
    bad = tmp_path / "routerd.service"
    bad.write_text(text.replace("ExecStart=/bin/true", "ExecStart=routerd-nowhere"))
    assert _verify([bad], tmp_path).returncode != 0


def test_paths_with_spaces_are_quoted(tmp_path: Path):
    """A venv under a directory with a space still yields one ExecStart argument per path."""
    text = systemd_units(ServicePaths(routerd="/a b/routerd", config="/c%d.toml", log="/l", env_file="/e"),
                         False)
    assert 'ExecStart="/a b/routerd" --config /c%%d.toml' in text["routerd.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_quotes_and_dollars_in_paths_survive_systemd(tmp_path: Path):
    """A config path with a double quote, a backslash or a dollar sign is still one argument that
    systemd reads back unchanged (systemd-analyze verify accepts the unit and shows the argv)."""
    odd = tmp_path / 'my "odd" $dir\\x'
    odd.mkdir()
    text = systemd_units(ServicePaths(routerd="/bin/true", config=str(odd / "c.toml"), log="/l",
                                      env_file=str(tmp_path / "routerd.env")), False)["routerd.service"]
    unit = tmp_path / "routerd.service"
    unit.write_text(text)
    assert _verify([unit], tmp_path).returncode == 0
    runtime = tmp_path / "run"
    shown = subprocess.run(["systemd-analyze", "cat-config", "--user", str(unit)], capture_output=True,
                           text=True, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)}, timeout=60)
    exec_start = next(line for line in (shown.stdout or text).splitlines() if line.startswith("ExecStart="))
    assert exec_start.endswith(' --config "' + str(odd / "c.toml").replace("\\", "\\\\").replace('"', '\\"')
                               .replace("$", "$$") + '"')


def test_service_install_creates_a_private_environment_file(home: Path):
    """The unit reads keys from an EnvironmentFile that service install creates with mode 0600 and
    never overwrites (a service does not see what the shell exports)."""
    runner = CliRunner()
    assert runner.invoke(cli, ["service", "install", "--no-start", "--target", "systemd"]).exit_code == 0
    env_file = home / ".config" / "routerd" / "routerd.env"
    assert env_file.stat().st_mode & 0o777 == 0o600 and "KEY=value" in env_file.read_text()
    service = (home / ".config" / "systemd" / "user" / "routerd.service").read_text()
    assert f"EnvironmentFile=-{env_file}" in service
    env_file.write_text("ANTHROPIC_API_KEY=sk-ant-kept\n")
    env_file.chmod(0o644)
    assert runner.invoke(cli, ["service", "install", "--no-start", "--target", "systemd"]).exit_code == 0
    assert env_file.read_text() == "ANTHROPIC_API_KEY=sk-ant-kept\n" and env_file.stat().st_mode & 0o777 == 0o600


def test_service_install_from_a_wheel(tmp_path: Path):
    """Installed from a wheel (no checkout beside it), service install finds its unit templates."""
    import sys

    root = Path(__file__).resolve().parents[2]
    source, wheels, target = tmp_path / "src", tmp_path / "wheels", tmp_path / "site"
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "build",
                                                                "*.egg-info", "results", "tests"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = wheels.glob("routerd-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "HOME": str(tmp_path), "PYTHONSAFEPATH": "1",
           "XDG_CONFIG_HOME": str(tmp_path / ".config"), "XDG_STATE_HOME": str(tmp_path / ".state")}
    env.pop("ROUTERD_CONFIG", None)
    code = ("import routerctl, sys; assert routerctl.__file__.startswith(sys.argv[1]), routerctl.__file__;"
            "from routerctl.main import cli; cli(['service', 'install', '--dry-run', '--target', 'systemd'])")
    done = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Type=notify" in done.stdout and "EnvironmentFile=-" in done.stdout


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


def test_top_level_service_directories_point_at_the_packaged_templates():
    """systemd/ and launchd/ hold links to the unit templates routerctl installs, not copies."""
    root = Path(__file__).resolve().parents[2]
    units = root / "routerd" / "integrations" / "units"
    for link in ("systemd/routerd.service", "systemd/routerd.socket", "launchd/dev.routerd.plist"):
        path = root / link
        assert path.is_symlink() and path.resolve() == (units / path.name).resolve(), link
