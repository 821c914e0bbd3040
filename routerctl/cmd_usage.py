"""Accounting and hook-mode commands: ``routerctl usage | savings | report``, ``routerctl mode``;
``export`` and ``statusline`` live in ``routerctl.cmd_ledger``."""

import click

from routerctl import output
from routerctl.cmd_ledger import PERIOD_CHOICE, call, export, money, period_options, statusline, tokens

MODES = ("advise", "smart", "hard", "soft", "off", "zero_claude")
GROUP_CHOICE = click.Choice(["model", "provider", "tier", "session", "project", "day", "outcome", "source"])


def _window(data: dict) -> str:
    if data.get("since"):
        return f"since {data['since']}"
    return {"today": "today", "week": "this week", "month": "this month"}.get(data.get("period") or "", "all time")


def _table(data: dict, by: str, savings: bool) -> None:
    # Hosted web searches (billed per search, in the cost) get a column when there were any.
    searched = bool(data["total"].get("web_searches"))
    head = (f"{by:<28} {'calls':>7} {'input':>8} {'cache rd':>8} {'cache wr':>8} {'output':>8}"
            + (f" {'searches':>8}" if searched else "") + f" {'cost':>10}")
    click.echo(head + (f" {'saved':>10} {'saved%':>6}" if savings else ""))
    for g in data["groups"] + [{**data["total"], by: "total"}]:
        label = "-" if g[by] is None else _printable(str(g[by]))
        line = (f"{label[:28]:<28} {g['calls']:>7} {tokens(g['input_tokens']):>8} "
                f"{tokens(g['cache_read_tokens']):>8} {tokens(g['cache_write_tokens']):>8} "
                f"{tokens(g['output_tokens']):>8}" + (f" {g.get('web_searches', 0):>8}" if searched else "")
                + f" {_cost(g):>10}")
        if savings:
            pct = "" if g["saved_pct"] is None else f"{g['saved_pct']:.0f}%"
            line += f" {money(g['saved_usd'], 'unknown' if g['calls'] else '-'):>10} {pct:>6}"
        click.echo(line)


def _printable(label: str) -> str:
    """A group's name with its control characters written as escapes: a session id or a project
    (a directory's name) comes from outside, and an ESC in it would drive the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in label)


def _cost(group: dict) -> str:
    """A group's cost: "unknown" when no call of it has a known price (never $0.0000, which would
    say they were free), marked "*" when some are left out (the note under the table says how many)."""
    unknown = group.get("uncosted_calls", 0)
    if unknown and unknown >= group["calls"]:
        return "unknown"
    return money(group["cost_usd"]) + ("*" if unknown else "")


def _decision(d: dict) -> str:
    """``simple->claude-haiku-4-5 12``; a decision the brain was not asked about (a request that named
    its model) has no tier: ``gpt-4.1 (unclassified) 3``, not ``?->gpt-4.1 3``."""
    model = d["model"] or "?"
    return f"{d['tier']}->{model} {d['count']}" if d["tier"] else f"{model} (unclassified) {d['count']}"


def _notes(total: dict) -> None:
    notes = []
    if total["uncosted_calls"]:
        notes.append(f"{total['uncosted_calls']} call(s) with an unknown price left out of the cost (*)")
    if total["unpriced_calls"] > total["uncosted_calls"]:
        notes.append(f"{total['unpriced_calls']} call(s) left out of savings (cost or baseline unknown)")
    if total["estimated"]:
        notes.append(f"{total['estimated']} call(s) with estimated token counts")
    if total["calls"] > total["ok"]:  # a request is one call per upstream attempt
        notes.append(f"{total['calls'] - total['ok']} call(s) failed or were cut, each an upstream attempt: a retry "
                     "or fallback that answered is a call of its own; they cost the tokens billed, if any")
    for note in notes:
        click.echo(f"note: {note}")


def _grouped_report(kind: str, by_help: str | None = None, default: str | None = "model"):
    """A report command: ``--period``/``--since``, ``--by``, ``--json``; the decorated function
    renders the daemon's ``data`` (``--json`` prints it as it came)."""
    def wrap(render):
        @click.command(name=kind, help=render.__doc__)
        @period_options
        @click.option("--by", "group_by", type=GROUP_CHOICE, default=default, show_default=default is not None,
                      help=by_help)
        @click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
                      help="groups listed (the costliest, or the latest days); the rest in one row; 0: all")
        @click.option("--json", "as_json", is_flag=True, help="print the raw report as JSON")
        @click.pass_context
        def command(ctx: click.Context, period: str | None, since: str | None, group_by: str | None,
                    limit: int, as_json: bool) -> None:
            data = call(ctx, {"type": kind, "period": period, "since": since, "group_by": group_by,
                              "limit": limit})["data"]
            if as_json:
                output.emit_json(data)
            else:
                render(data, group_by)
        return command
    return wrap


@_grouped_report("usage")
def usage(data: dict, group_by: str) -> None:
    """Calls, tokens (cache reads and writes included) and cost recorded by routerd, grouped."""
    click.echo(f"usage, {_window(data)}, by {group_by}")
    _table(data, group_by, savings=False)
    _notes(data["total"])


@_grouped_report("savings", by_help="also break savings down by this", default=None)
def savings(data: dict, group_by: str | None) -> None:
    """What routing saved against the baseline model, and the decisions by tier."""
    unpriced = data.get("unpriced_calls", 0)
    left_out = f"; {unpriced} left out, price unknown" if unpriced else ""
    pct = "" if data["saved_pct"] is None else f" ({data['saved_pct']}%)"
    free = data.get("free_saved_usd")
    free_part = f"; {money(free)} of it on calls that cost 0 (local or free models)" if free else ""
    output.emit_fields([
        ("period", _window(data)),
        ("spent", f"{money(data['priced_cost_usd'], 'unknown')} over {data['priced_calls']} priced call(s){left_out}"
                  if data["priced_calls"] or unpriced else f"{money(0.0)}: no calls recorded"),
        ("baseline", money(data["baseline_cost_usd"], "unknown")),
        ("saved", money(data["saved_usd"], "unknown") + pct + free_part),
        *([("against", data["compared_with"])] if data.get("compared_with") else []),
        ("decisions", ", ".join(_decision(d) for d in data["decisions"]) or "none"),
    ])
    if group_by:
        click.echo("")
        _table(data | {"total": _total(data)}, group_by, savings=True)


def _total(data: dict) -> dict:
    """The table's total row: the tokens summed over its rows (every group is in one), the money
    as the report has it (None, unknown, when no call's price is known)."""
    rows = data["groups"]
    keys = ("calls", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "web_searches")
    return {**{k: sum(g.get(k, 0) for g in rows) for k in keys}, "cost_usd": data["cost_usd"],
            "uncosted_calls": data["uncosted_calls"], "saved_usd": data["saved_usd"], "saved_pct": data["saved_pct"]}


@_grouped_report("report")
def report(data: dict, group_by: str) -> None:
    """Usage and savings together: per group calls, tokens, cost, saved; the decisions behind them."""
    total = data["total"]
    pct = "" if total["saved_pct"] is None else f" ({total['saved_pct']}%)"
    cached = total["cache_read_tokens"] / total["input_tokens"] if total["input_tokens"] else 0.0
    click.echo(f"routerd report, {_window(data)}: {total['calls']} call(s), spent {_cost(total)}, "
               f"saved {money(total['saved_usd'], 'unknown')}{pct} against the baseline; "
               f"{cached:.0%} of input tokens read from cache")
    if data.get("compared_with"):
        click.echo(f"baseline: {data['compared_with']}")
    click.echo("")
    _table(data, group_by, savings=True)
    _notes(total)
    if data["decisions"]:
        click.echo("decisions: " + ", ".join(_decision(d) for d in data["decisions"][:8]))


@click.command()
@click.argument("new_mode", required=False, type=click.Choice(MODES))
@click.pass_context
def mode(ctx: click.Context, new_mode: str | None) -> None:
    """Show or set the hooks mode (persisted; overrides config hooks.mode)."""
    data = call(ctx, {"type": "hook_mode", "mode": new_mode})["data"]
    suffix = "" if data["mode"] == data["config_mode"] else f" (config says {data['config_mode']})"
    click.echo(f"hooks mode: {data['mode']}{suffix}")
    if new_mode == "hard":
        click.echo("hard mode denies work tools while routerd runs. To also block prompts and tools "
                   "while routerd is down, install fail-closed hooks (command shims): "
                   "routerctl install --host claude-code --fail-closed (or --host codex / gemini-cli)")


@click.command()
@click.option("--period", type=click.Choice(["today", "week", "month"]),
              help="spend of this period only (default: today, this week and this month)")
@click.option("--json", "as_json", is_flag=True, help="print the raw report as JSON")
@click.pass_context
def budget(ctx: click.Context, period: str | None, as_json: bool) -> None:
    """Budgets: each limit's use and level, the providers' own windows, and the routing pressure."""
    data = call(ctx, {"type": "budget", "period": period})["data"]
    if as_json:
        output.emit_json(data)
        return
    spend = ", ".join(f"{name} {money(usd)}" for name, usd in data["spend_usd"].items())
    # The pressure is a request's with no project: a project's own limits add to its requests' only.
    scope = " for a request of no project" if any(
        x["scope"].startswith("project ") for x in data["limits"]) else ""
    click.echo(f"budget pressure {data['pressure']:.2f} ({data['level']}){scope}; paid spend {spend}")
    if not data["configured"]:
        click.echo("no [budgets] limits configured")
    for x in data["limits"]:
        value = money if x["metric"] == "usd" else (lambda n: tokens(int(n)))
        held = f" + {value(x['reserved'])} held" if x["reserved"] else ""
        refused = f", {x['refused']} refused" if x["refused"] else ""
        click.echo(f"  {x['name']:<40} {value(x['used'])}{held} of {value(x['limit'])}  "
                   f"{x['share']:.0%} {x['level']}{refused}")
    for w in data["windows"]:
        note = f"; {w['note']}" if w.get("note") else ""
        click.echo(f"  {w['provider']} {w['name']} window{'':<20} {w['used_share']:.0%} spent "
                   f"(provider's headers{note})")


@click.command()
@click.option("--period", type=PERIOD_CHOICE, default="month", show_default=True, help="the period charted")
@click.option("--json", "as_json", is_flag=True, help="print the dashboard's data instead of its address")
@click.pass_context
def dashboard(ctx: click.Context, period: str, as_json: bool) -> None:
    """The dashboard's address on the HTTP gateway (or, with --json, the data it draws)."""
    if as_json:
        output.emit_json(call(ctx, {"type": "dashboard", "period": period})["data"])
        return
    http = call(ctx, {"type": "status"}).get("http")
    if not http:
        raise click.ClickException("routerd serves no HTTP address (http.listen), so no dashboard")
    click.echo(f"http://{http}/dashboard")


COMMANDS = [usage, savings, report, budget, dashboard, export, statusline, mode]
