"""How routerctl prints: one line for an expected failure, JSON for scripts, aligned fields for people."""

import json
import sys
from typing import Any, NoReturn

import click


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"routerctl: {message}", err=True)
    sys.exit(code)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def emit_fields(rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")
