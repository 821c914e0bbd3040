"""Helpers for the integration tests: the shims' paths, running a shim, payloads as hosts send them."""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
HOOK_SHIM = ROOT / "hooks" / "hook.py"
HOOK_CORE = ROOT / "hooks" / "hook_core.py"
MCP_RELAY = ROOT / "hooks" / "mcp_relay.py"
PYTHON = sys.executable


def load_shim(path: Path) -> ModuleType:
    """Import a shim file as a module (the shims are scripts, not package modules)."""
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shim_command(*args: str) -> list[str]:
    return [PYTHON, "-I", "-S", str(HOOK_SHIM), *args]


def claude_payload(event: str, session: str = "s-1", **fields) -> bytes:
    body = {"session_id": session, "transcript_path": fields.pop("transcript_path", "/nonexistent.jsonl"),
            "cwd": "/tmp", "hook_event_name": event, "permission_mode": "default", **fields}
    return json.dumps(body).encode()
