"""Finding and running the real command-line clients (Claude Code, Codex, Gemini CLI) without
blocking the loop.

The npm packages live under one cache directory shared with ``tests/e2e/install.sh`` (which
``scripts/test`` runs), outside the work tree so that a fresh clone on the same machine reuses them:
``$ROUTERD_TEST_CACHE``, else ``$XDG_CACHE_HOME/routerd-tests``, else ``~/.cache/routerd-tests``.
Each CLI runs in a throw-away HOME with only the environment the test gives it, stdin closed, and a
deadline; its output is returned, never printed.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream

CLAUDE_CODE = ("@anthropic-ai/claude-code", "2.1.197", "claude")
CODEX = ("@openai/codex", "0.169.0", "codex")
GEMINI_CLI = ("@google/gemini-cli", "0.61.0", "gemini")
INSTALL_SCRIPT = Path(__file__).with_name("install.sh")
CLI_TIMEOUT_S = 120.0


def cache_dir() -> Path:
    if os.environ.get("ROUTERD_TEST_CACHE"):
        return Path(os.environ["ROUTERD_TEST_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "routerd-tests"


def node_missing() -> str | None:
    """Why node CLIs cannot run here (node or npm absent), or None when they can."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed: cannot run the npm CLIs" if missing else None


def installed_version(package: str) -> str | None:
    manifest = cache_dir() / "node" / "node_modules" / package / "package.json"
    try:
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_cli(spec: tuple[str, str, str]) -> Path:
    """The path of the pinned CLI's executable, installing it with npm first when it is missing."""
    package, version, command = spec
    if installed_version(package) != version:
        subprocess.run(["bash", str(INSTALL_SCRIPT), "node"], check=True, timeout=600)
    binary = cache_dir() / "node" / "node_modules" / ".bin" / command
    if installed_version(package) != version or not binary.exists():
        raise RuntimeError(f"{package}@{version} did not install under {cache_dir()}")
    return binary


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr[-4000:]}"


def base_env(home: Path) -> dict[str, str]:
    """A clean environment: no provider keys or base URLs leak in from the developer's shell."""
    node_dir = str(Path(shutil.which("node") or "/usr/bin/node").parent)
    return {"PATH": f"{node_dir}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "TERM": "dumb", "NO_COLOR": "1", "CI": "1"}


async def run_cli(argv: list[str | Path], env: dict[str, str], cwd: Path,
                  timeout_s: float = CLI_TIMEOUT_S) -> Finished:
    """Run ``argv`` to completion off the event loop (stdin closed) and return its output."""
    with anyio.fail_after(timeout_s):
        done = await anyio.run_process([str(a) for a in argv], env=env, cwd=cwd, check=False,
                                       stdin=subprocess.DEVNULL)
    return Finished(done.returncode, done.stdout.decode(errors="replace"),
                    done.stderr.decode(errors="replace"))


async def run_claude(binary: Path, base_url: str, prompt: str, *, home: Path,
                     args: tuple[str, ...] = ()) -> Finished:
    """``claude -p PROMPT`` against ``base_url`` as Claude Code's docs describe for gateways."""
    return await run_cli([binary, "-p", *args, prompt], claude_env(home, base_url), home / "work")


async def run_claude_streaming(binary: Path, base_url: str, prompt: str, *, home: Path,
                               on_line: Callable[[str], None], timeout_s: float = 60.0) -> Finished:
    """``claude -p --output-format stream-json --include-partial-messages PROMPT``, handing each
    line of its output to ``on_line`` as soon as Claude Code prints it."""
    argv = [binary, "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
            prompt]
    env = claude_env(home, base_url)
    lines: list[str] = []
    with anyio.fail_after(timeout_s), open(home / "stderr.txt", "wb") as stderr:
        async with await anyio.open_process([str(a) for a in argv], env=env, cwd=home / "work",
                                            stdin=subprocess.DEVNULL, stderr=stderr) as proc:
            assert proc.stdout is not None
            stdout = BufferedByteReceiveStream(proc.stdout)
            try:
                while True:
                    lines.append((await stdout.receive_until(b"\n", 1 << 24)).decode())
                    on_line(lines[-1])
            except (anyio.IncompleteRead, anyio.EndOfStream):
                pass
            returncode = await proc.wait()
    return Finished(returncode, "\n".join(lines), (home / "stderr.txt").read_text(errors="replace"))


def claude_env(home: Path, base_url: str) -> dict[str, str]:
    """Claude Code's environment for a gateway at ``base_url`` (and its working directory made)."""
    (home / "work").mkdir(parents=True, exist_ok=True)
    return base_env(home) | {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        # An error must fail the test at once, not after minutes of backed-off retries.
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "API_TIMEOUT_MS": "60000",
    }


# Left on, Codex 0.169 resolves api.github.com, chatgpt.com and ab.chatgpt.com (update check,
# plugins and apps, analytics) even with a custom provider; tests send nothing beyond loopback.
CODEX_OFFLINE = (
    "check_for_update_on_startup = false\n"
    "\n[analytics]\nenabled = false\n"
    "\n[features]\n" + "".join(f"{name} = false\n" for name in (
        "plugins", "remote_plugin", "plugin_sharing", "apps", "in_app_updates", "skill_search",
        "tool_suggest"))
)


def write_codex_config(codex_home: Path, base_url: str, model: str) -> None:
    """A CODEX_HOME whose default provider is routerd (or a fake) over the Responses wire API."""
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        f'model = "{model}"\n'
        'model_provider = "routerd"\n'
        + CODEX_OFFLINE +
        "\n[model_providers.routerd]\n"
        'name = "routerd"\n'
        f'base_url = "{base_url}/v1"\n'
        'wire_api = "responses"\n'
        'env_key = "ROUTERD_E2E_KEY"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
    )


async def run_codex(binary: Path, base_url: str, prompt: str, *, home: Path, model: str,
                    args: tuple[str, ...] = ()) -> Finished:
    """``codex exec PROMPT`` with a ``[model_providers.routerd]`` entry pointing at ``base_url``."""
    codex_home = home / "codex"
    write_codex_config(codex_home, base_url, model)
    env = base_env(home) | {"CODEX_HOME": str(codex_home), "ROUTERD_E2E_KEY": "dummy"}
    workdir = home / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    return await run_cli([binary, "exec", "--skip-git-repo-check", *args, prompt], env, workdir)


# Gemini CLI 0.61 in a fresh HOME: an API key picked as the auth method (it refuses to start
# headless without one), no usage statistics, telemetry or update checks; with these it connects to
# nothing but its base URL (checked with ``strace -f -e trace=connect``).
GEMINI_SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
}


def write_gemini_settings(home: Path) -> None:
    """Merge ``GEMINI_SETTINGS`` into ``~/.gemini/settings.json`` (keeping hooks an install wrote)."""
    path = home / ".gemini" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps(current | GEMINI_SETTINGS, indent=2))


async def run_gemini(binary: Path, base_url: str, prompt: str, *, home: Path, model: str,
                     extra_env: dict[str, str] | None = None) -> Finished:
    """``gemini -p PROMPT -m MODEL`` with ``GOOGLE_GEMINI_BASE_URL`` pointing at ``base_url``."""
    write_gemini_settings(home)
    env = base_env(home) | {"GOOGLE_GEMINI_BASE_URL": base_url, "GEMINI_API_KEY": "dummy",
                            "GEMINI_CLI_TRUST_WORKSPACE": "true"} | (extra_env or {})
    workdir = home / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    return await run_cli([binary, "-p", prompt, "-m", model], env, workdir)
