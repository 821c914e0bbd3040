"""Accounting and hook-mode commands: ``routerctl usage``, ``routerctl savings``, ``routerctl mode``."""

import click

from routerctl import output

MODES = ("advise", "smart", "hard", "soft", "off", "zero_claude")


def _call(ctx: click.Context, request: dict) -> dict:
    from routerctl.client import Client

    with Client(ctx.obj, timeout_s=30) as client:
        return client.call(request)


@click.command()
@click.option("--since", help="a span (24h, 7d, 30m) or an ISO date; default: everything")
@click.option("--by", "group_by", type=click.Choice(["model", "provider", "day", "outcome"]),
              default="model", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the raw report as JSON")
@click.pass_context
def usage(ctx: click.Context, since: str | None, group_by: str, as_json: bool) -> None:
    """Calls, tokens and cost recorded by routerd, grouped."""
    data = _call(ctx, {"type": "usage", "since": since, "group_by": group_by})["data"]
    if as_json:
        output.emit_json(data)
        return
    header = f"{group_by:<28} {'calls':>7} {'ok':>7} {'in tok':>10} {'out tok':>10} {'cost $':>10}"
    click.echo(header)
    for g in data["groups"] + [{group_by: "total", **data["total"]}]:
        click.echo(f"{str(g[group_by])[:28]:<28} {g['calls']:>7} {g['ok']:>7} {g['input_tokens']:>10} "
                   f"{g['output_tokens']:>10} {g['cost_usd']:>10.4f}")


@click.command()
@click.option("--since", help="a span (24h, 7d, 30m) or an ISO date; default: everything")
@click.option("--json", "as_json", is_flag=True, help="print the raw report as JSON")
@click.pass_context
def savings(ctx: click.Context, since: str | None, as_json: bool) -> None:
    """What routing saved against the baseline model, and the decisions by tier."""
    data = _call(ctx, {"type": "savings", "since": since})["data"]
    if as_json:
        output.emit_json(data)
        return
    def usd(value: float | None) -> str:
        return "unknown" if value is None else f"${value:.4f}"

    unpriced = data.get("unpriced_calls", 0)
    left_out = f"; {unpriced} left out, price unknown" if unpriced else ""
    pct = "" if data["saved_pct"] is None else f" ({data['saved_pct']}%)"
    output.emit_fields([
        ("spent", f"{usd(data['cost_usd'])} over {data['priced_calls']} priced call(s){left_out}"),
        ("baseline", usd(data["baseline_cost_usd"])),
        ("saved", usd(data["saved_usd"]) + pct),
        ("decisions", ", ".join(f"{d['tier']}->{d['model']} {d['count']}" for d in data["decisions"])
         or "none"),
    ])


@click.command()
@click.argument("new_mode", required=False, type=click.Choice(MODES))
@click.pass_context
def mode(ctx: click.Context, new_mode: str | None) -> None:
    """Show or set the hooks mode (persisted; overrides config hooks.mode)."""
    data = _call(ctx, {"type": "hook_mode", "mode": new_mode})["data"]
    suffix = "" if data["mode"] == data["config_mode"] else f" (config says {data['config_mode']})"
    click.echo(f"hooks mode: {data['mode']}{suffix}")


COMMANDS = [usage, savings, mode]
