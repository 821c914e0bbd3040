"""Resilience commands: ``health`` (every breaker, cool-down, key and bucket) and ``breaker reset``."""

import click

from routerctl import output


def _call(ctx: click.Context, request: dict) -> dict:
    from routerctl.client import Client

    with Client(ctx.obj, timeout_s=10) as client:
        return client.call(request)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print the raw reply as JSON")
@click.pass_context
def health(ctx: click.Context, as_json: bool) -> None:
    """Show breakers, cool-downs, key pools, rate-limit buckets and requests in flight."""
    reply = _call(ctx, {"type": "health"})
    if as_json:
        output.emit_json(reply)
        return
    rows = [("in flight", f"{reply.get('in_flight', 0)} of {reply.get('max_in_flight', 0)}, "
                          f"{reply.get('refused_overloaded', 0)} refused at the bound")]
    for b in reply.get("breakers", []):
        retry = f", probe in {b['retry_in_s']:.0f} s" if b.get("retry_in_s") is not None else ""
        last = f", last: {b['last_failure']}" if b.get("last_failure") else ""
        rows.append((f"breaker {b['target']}", f"{b['state']}{retry}; {b['failures']} of {b['calls']} calls "
                     f"failed, {b['consecutive_failures']} in a row, opened {b['opened']}x{last}"))
    for c in reply.get("cooling", []):
        rows.append((f"cooling {c['target']}", f"{c['reason']} (retry in {c['retry_in_s']:.0f} s)"))
    for k in reply.get("keys", []):
        rows.append((f"key {k['provider']} {k['label']}", f"{k['state']} ({k['fingerprint']}), chosen "
                     f"{k['chosen']}x" + (f"; {k['status']}" if k.get("status") else "")))
    for b in reply.get("buckets", []):
        resets = f", resets in {b['resets_in_s']:.0f} s" if b.get("resets_in_s") is not None else ""
        rows.append((f"bucket {b['name']}", f"{b['used']:g} used + {b['reserved']:g} reserved of "
                     f"{b['limit']:g}{resets}, refused {b['refused']}"))
    for alias, picks in reply.get("aliases", {}).items():
        rows.append((f"alias {alias}", ", ".join(f"{m} {n}" for m, n in picks.items())))
    output.emit_fields(rows)


@click.group()
def breaker() -> None:
    """Circuit breakers."""


@breaker.command("reset")
@click.argument("target", required=False)
@click.pass_context
def reset(ctx: click.Context, target: str | None) -> None:
    """Close breakers, end cool-downs and bring refused keys back: of TARGET (a provider or
    provider/model), or of all."""
    reply = _call(ctx, {"type": "breaker_reset", "target": target})
    changed = reply.get("changed", [])
    click.echo(f"reset: {', '.join(changed)}" if changed else "nothing was open or cooling")


COMMANDS = [health, breaker]
