"""``routerctl export`` (calls or decisions as CSV or JSON, streamed) and ``routerctl statusline``
(one short line for Claude Code's status line), with the helpers the accounting commands share."""

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

import click

from routerctl import output

PERIOD_CHOICE = click.Choice(["today", "week", "month", "all"])
# Claude Code runs the status line command often and waits for it: answer fast or not at all.
STATUSLINE_TIMEOUT_S = 1.0
STDIN_WAIT_S = 0.2
MAX_STDIN = 64 * 1024


def call(ctx: click.Context, request: dict, timeout_s: float = 30) -> dict:
    from routerctl.client import Client

    with Client(ctx.obj, timeout_s=timeout_s) as client:
        return client.call(request)


def period_options(command: Callable) -> Callable:
    """``--period`` and ``--since`` (which wins)."""
    command = click.option("--since", help="a span (24h, 7d, 30m) or an ISO date; wins over --period")(command)
    return click.option("--period", type=PERIOD_CHOICE,
                        help="today, this week (since Monday), this month, or all (default)")(command)


def money(value: float | None, unknown: str = "-") -> str:
    """``$0.0420``; an amount that is not zero but rounds to it ``<$0.0001`` (``>-$0.0001``), since
    $0.0000 reads as free."""
    if value is None:
        return unknown
    if 0 < abs(value) < 0.00005:
        return "<$0.0001" if value > 0 else ">-$0.0001"
    return f"${value:.4f}"


def tokens(n: int) -> str:
    """A token count in four characters or so: 950, 12.3k, 4.1M."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


@click.command()
@click.argument("table", type=click.Choice(["calls", "decisions"]), default="calls")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "jsonl"]), default="csv", show_default=True,
              help="json: one array; jsonl: one object a line")
@period_options
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False, writable=True),
              help="write here instead of stdout")
@click.pass_context
def export(ctx: click.Context, table: str, fmt: str, period: str | None, since: str | None,
           path: str | None) -> None:
    """Export recorded calls or decisions, streamed page by page (a progress bar on a terminal).
    With -o the file is written whole or not at all: an export that fails (a bad --since, routerd
    not running or stopping midway) leaves an existing file as it was."""
    from routerctl.client import Client

    request = {"type": "export", "table": table, "period": period, "since": since}
    with Client(ctx.obj, timeout_s=60) as client:
        frames = client.stream(request)
        head = next(frames)["data"]  # the daemon's verdict on the request, before any file is touched
        with _output(path) as out:
            _write_export(fmt, out, head, frames, table, path is not None)


def _write_export(fmt: str, out, head: dict, frames, table: str, to_file: bool) -> None:
    writer = _Writer(fmt, out, head["columns"])
    show = sys.stderr.isatty() and (to_file or not sys.stdout.isatty())
    with click.progressbar(length=head["total"], label=f"exporting {table}", file=sys.stderr,
                           hidden=not show) as bar:
        for frame in frames:
            rows = frame["data"].get("rows")
            if frame["kind"] == "export_rows":
                writer.rows(rows)
                bar.update(len(rows))
    writer.close()


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """stdout, or ``path`` replaced only once the export is whole: rows go to a file beside it that
    takes its name at the end, and is removed if the export fails. Something that is not a regular
    file (``/dev/null``, a named pipe) is written in place: renaming over it would replace it."""
    if path is None:
        try:
            yield sys.stdout
        finally:
            sys.stdout.flush()
        return
    import os
    import stat

    target = os.path.abspath(path)
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        output.fail(f"cannot write {path}: {exc.strerror}", 2)
    if mode is not None and not stat.S_ISREG(mode):
        with _opened(path, lambda: open(target, "w", newline="", encoding="utf-8")) as out:
            yield out
        return
    fd, part = _part_file(path, target)
    try:
        # the file a plain open() would have made: the old one's permissions, else the umask's
        os.fchmod(fd, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        with open(fd, "w", newline="", encoding="utf-8") as out:
            yield out
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise


def _opened(path: str, opener: Callable[[], TextIO]) -> TextIO:
    try:
        return opener()
    except OSError as exc:
        output.fail(f"cannot write {path}: {exc.strerror}", 2)


def _part_file(path: str, target: str) -> tuple[int, str]:
    """A new file beside ``target`` for the rows, and its path."""
    import os
    import tempfile

    try:
        return tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.", suffix=".part")
    except OSError as exc:
        output.fail(f"cannot write {path}: {exc.strerror}", 2)


def _umask() -> int:
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    return mask

class _Writer:
    def __init__(self, fmt: str, out, columns: list[str]) -> None:
        import csv
        import json

        self.fmt, self.out, self.columns, self.first = fmt, out, columns, True
        self.dumps = functools.partial(json.dumps, ensure_ascii=False)
        if fmt == "csv":
            self.csv = csv.writer(out)
            self.csv.writerow(columns)
        elif fmt == "json":
            out.write("[")

    def rows(self, rows: list[list]) -> None:
        if self.fmt == "csv":
            self.csv.writerows(rows)
            return
        for row in rows:
            text = self.dumps(dict(zip(self.columns, row)))
            if self.fmt == "json":
                text = ("\n" if self.first else ",\n") + text
                self.first = False
            else:
                text += "\n"
            self.out.write(text)

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n")


def _session_from_stdin() -> str | None:
    """The ``session_id`` in the JSON Claude Code writes to a status line command's stdin (read for
    at most ``STDIN_WAIT_S``; nothing when stdin is a terminal)."""
    import json
    import os
    import select
    import time

    if sys.stdin is None or sys.stdin.isatty():
        return None
    fd, data = sys.stdin.fileno(), b""
    deadline = time.monotonic() + STDIN_WAIT_S
    while len(data) < MAX_STDIN and (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, MAX_STDIN - len(data))
        if not chunk:
            break
        data += chunk
    try:
        value = json.loads(data) if data else None
    except ValueError:
        return None
    session = value.get("session_id") if isinstance(value, dict) else None
    return session if isinstance(session, str) else None


def statusline_text(data: dict) -> str:
    """``routerd $0.42 today · saved $1.73 (80%) · claude-haiku-4-5``, and budget pressure when known;
    calls of an unknown price are never $0: ``routerd unknown today``, ``routerd $0.42 today (+2 unpriced)``."""
    unpriced = data.get("uncosted_calls", 0)
    parts = [f"routerd {money(data['cost_usd'], 'unknown')} today"
             + (f" (+{unpriced} unpriced)" if unpriced and data["cost_usd"] is not None else "")]
    if data["saved_usd"] is not None:
        pct = "" if data["saved_pct"] is None else f" ({data['saved_pct']:.0f}%)"
        parts.append(f"saved {money(data['saved_usd'])}{pct}")
    if data.get("budget") is not None:
        parts.append(f"budget {data['budget']:.0%}")
    if data["last_model"]:
        parts.append(data["last_model"])
    return " · ".join(parts)


@click.command()
@click.pass_context
def statusline(ctx: click.Context) -> None:
    """One short line for Claude Code's status line: today's spend, savings, the last model."""
    from routerctl.client import ConnectionLost, DaemonError, DaemonNotRunning, Unreachable

    request = {"type": "statusline", "session_id": _session_from_stdin()}
    try:
        data = call(ctx, request, timeout_s=STATUSLINE_TIMEOUT_S)["data"]
    except (DaemonNotRunning, Unreachable, ConnectionLost, DaemonError, TimeoutError, OSError):
        click.echo("routerd: not running")  # a status line shows text, not an exit code
        return
    click.echo(statusline_text(data))
