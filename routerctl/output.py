"""How routerctl prints: one line for an expected failure, JSON for scripts, aligned fields for people."""

import json
import sys
from typing import Any, NoReturn

import click


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"routerctl: {message}", err=True)
    sys.exit(code)


def quiet_exit() -> NoReturn:
    """Exit 0 after stdout's reader went away, without Python's own complaint when it flushes
    stdout at exit (the pattern the `signal` module's documentation gives for SIGPIPE)."""
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def emit_fields(rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")
