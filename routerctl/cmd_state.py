"""The state database from the command line: ``routerctl prune``, and the lines ``routerctl status``
shows about the database (its size, retention, and anything wrong with it)."""

import time

import click



@click.command()
@click.option("--vacuum", is_flag=True,
              help="then shrink the file to the pages it needs (SQLite otherwise keeps freed pages for "
                   "reuse); state writes wait meanwhile, about 0.3 s for a 20 MB database")
@click.pass_context
def prune(ctx: click.Context, vacuum: bool) -> None:
    """Prune the calls and decisions past state.retain_days now (routerd also does it hourly); their sums
    stay in every report."""
    from routerctl.client import Client

    with Client(ctx.obj, timeout_s=600) as client:
        reply = client.call({"type": "prune", "vacuum": vacuum})
    click.echo(reply["message"])


def state_rows(reply: dict) -> list[tuple[str, str]]:
    """The status lines about the state database."""
    store = reply.get("parts", {}).get("store") or {}
    size = store.get("size_bytes")
    rows = [("state", reply["state_path"] + (f" ({_size(size)} on disk)" if size is not None else "")),
            ("rows", ", ".join(f"{k} {v}" for k, v in reply["rows"].items()))]
    days = store.get("retain_days", 0)
    kept = (f"calls and decisions kept {days} days, their sums for ever" if days else
            "every call and decision kept (state.retain_days = 0)")
    if store.get("retained_from"):
        day = time.strftime("%Y-%m-%d", time.localtime(store["retained_from"]))
        kept += (f"; before {day} only their sums ({store.get('pruned', 0)} calls, "
                 f"{store.get('pruned_decisions', 0)} decisions pruned since start)")
    rows.append(("retention", kept))
    if store.get("snapshots"):
        rows.append(("exports", f"{store['snapshots']} streaming (each reads the database as it was when it "
                                "started; prune --vacuum waits for them)"))
    if store.get("file_event"):
        rows.append(("state file", store["file_event"]))
    if store.get("state") == "stalled":
        rows.append(("state writes", f"STALLED for {duration(store.get('stalled_s') or 0)} "
                                     f"({store.get('last_error')}): {store.get('held', 0)} row(s) held in "
                                     "memory, retrying"))
    elif store.get("state") == "stopped":
        rows.append(("state writes", f"STOPPED ({store.get('last_error') or 'the writer ended'}): usage is "
                                     "no longer recorded; restart routerd"))
    if store.get("damaged"):
        rows.append(("state file", f"DAMAGED ({store['damaged']}): what is shown may be incomplete; move "
                                   "the file away and restart routerd to start afresh"))
    if store.get("dropped") or store.get("lost"):
        rows.append(("state rows lost", f"{store.get('dropped', 0)} bad row(s) dropped, {store.get('lost', 0)} "
                                        f"beyond the held bound; last error: {store.get('last_error')}"))
    return rows


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 ** 2:
        return f"{n / 1024:.1f} KiB"
    if n < 1024 ** 3:
        return f"{n / 1024 ** 2:.1f} MiB"
    return f"{n / 1024 ** 3:.2f} GiB"


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


COMMANDS = [prune]
