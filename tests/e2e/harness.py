"""Glue between the real clients and an in-process routerd: config text for fake providers, the
daemon's HTTP address, and the calls routerd recorded in its store."""

import os
import sys
from pathlib import Path
from typing import Any

import anyio

from routerd.app import App
from tests.e2e.upstream import INPUT_TOKENS, OUTPUT_TOKENS

# A key routerd sends upstream; tests check it never reaches the store.
UPSTREAM_KEY = "sk-e2e-upstream-secret"
# The model Claude Code 2.1.197 asks for when given no --model.
CLAUDE_DEFAULT_MODEL = "claude-opus-4-8"


def write_config(config_file: Path, *, providers: dict[str, tuple[str, str]],
                 aliases: dict[str, str] | None = None, downshift: bool = False,
                 local: tuple[str, ...] = ()) -> None:
    """Add ``[providers.NAME]`` (``NAME=(kind, base_url)``; those named in ``local`` get
    ``local = true``), ``[gateway]`` settings and ``[gateway.aliases]`` to the test daemon's config
    (which listens on 127.0.0.1, port 0)."""
    text = config_file.read_text()
    if downshift:
        text += "\n[gateway]\ndownshift = true\n"
    for name, (kind, url) in providers.items():
        text += f'\n[providers.{name}]\nkind = "{kind}"\nbase_url = "{url}"\napi_key = "{UPSTREAM_KEY}"\n'
        if name in local:
            text += "local = true\n"
    if aliases:
        text += "\n[gateway.aliases]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in aliases.items())
    config_file.write_text(text)


async def install_gemini_hooks(app: App, home: Path) -> None:
    """``routerctl install --host gemini-cli`` into ``home``, for the daemon ``app``, with the hooks'
    budget raised to 5 s in its config: install writes the budget (config hooks.budget_ms, 50 ms by
    default) into the hook's command, and on a loaded machine a decision can take longer, when the
    shim fails open."""
    config = app.runtime.config_path
    config.write_text(config.read_text() + "\n[hooks]\nbudget_ms = 5000\n")
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "ROUTERD_SOCKET": str(app.socket_path), "ROUTERD_CONFIG": str(config)}
    await anyio.run_process([sys.executable, "-m", "routerctl.main", "install", "--host", "gemini-cli"], env=env)


def http_url(app: App) -> str:
    """routerd's HTTP origin, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
    assert app.http_address, "the HTTP front did not start"
    address = app.http_address
    return address if address.startswith("http") else f"http://{address}"


async def recorded_calls(app: App) -> list[dict[str, Any]]:
    """The ``calls`` rows routerd wrote, oldest first, once in-flight requests have finished."""
    with anyio.fail_after(10):
        await app.inflight.wait_idle()
    await app.store.flush()

    def rows(conn: Any) -> list[dict[str, Any]]:
        names = [column[1] for column in conn.execute("PRAGMA table_info(calls)")]
        return [dict(zip(names, row)) for row in conn.execute("SELECT * FROM calls ORDER BY ts")]

    return await app.store.read(rows)


def check_recorded(calls: list[dict[str, Any]], provider: str, model: str) -> None:
    """Exactly one call was stored, a success at ``provider``/``model`` with the fake's usage."""
    [row] = calls
    assert (row["provider"], row["model"], row["outcome"]) == (provider, model, "ok"), row
    assert (row["input_tokens"], row["output_tokens"]) == (INPUT_TOKENS, OUTPUT_TOKENS), row
    assert row["decision_id"] and row["latency_ms"] is not None and row["ttft_ms"] is not None, row
    assert UPSTREAM_KEY not in repr(row)


async def recorded_decision(app: App, decision_id: str) -> dict[str, Any]:
    """The ``decisions`` row with ``decision_id`` (after ``recorded_calls`` has flushed the store)."""

    def row(conn: Any) -> dict[str, Any]:
        names = [column[1] for column in conn.execute("PRAGMA table_info(decisions)")]
        found = conn.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
        assert found is not None, f"no decision {decision_id} stored"
        return dict(zip(names, found))

    return await app.store.read(row)


async def status_of(app: App) -> dict[str, Any]:
    """``routerctl status`` as JSON: the reply to a ``status`` request over the daemon's socket."""
    from tests.support import connect

    async with connect(app.socket_path) as client:
        return await client.call({"type": "status"})
