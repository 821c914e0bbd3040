"""Routing commands: ``classify``, ``route``, ``reroute``, ``rate`` and ``profile``.

Thin: the prompt (an argument, stdin, or a whole conversation as JSON with ``--messages``) is sent
as is; the daemon classifies, decides and stores, and this module only renders its answer.
"""

import json
import sys
from typing import Any

import click

from routerctl import output

PROFILES = ("budget", "balanced", "premium")


def _call(ctx: click.Context, request: dict) -> dict:
    from routerctl.client import Client

    with Client(ctx.obj, timeout_s=30) as client:
        return client.call(request)


def _prompt_request(prompt: str | None, messages_path: str | None) -> dict[str, Any]:
    """``prompt`` or ``messages`` for the request: the argument, a JSON conversation, or stdin
    (no argument, or ``-``)."""
    if messages_path is not None:
        raw = _read_text(messages_path, "--messages")
        try:
            messages = json.loads(raw)
        except ValueError as exc:
            output.fail(f"--messages: not JSON: {exc}", 2)
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and "role" in m for m in messages):
            output.fail('--messages: expected a JSON list of {"role": ..., "content": ...} objects', 2)
        return {"messages": messages}
    if prompt is None or prompt == "-":
        if prompt is None and sys.stdin.isatty():
            output.fail("give a prompt, pipe one on stdin, or use --messages FILE", 2)
        prompt = _read_text("-", "the prompt")
    if not prompt.strip():
        output.fail("the prompt is empty", 2)
    return {"prompt": prompt}


def _read_text(path: str, what: str) -> str:
    """The UTF-8 text of ``path`` (``-``: stdin), or a one-line failure saying why it cannot be read."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except OSError as exc:
        output.fail(f"{what}: cannot read {path}: {exc.strerror or exc}", 2)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = "stdin" if path == "-" else path
        output.fail(f"{what}: {where} is not UTF-8 text (byte {exc.start}: {exc.reason})", 2)


@click.command()
@click.argument("prompt", required=False)
@click.option("--messages", "messages_path", metavar="FILE",
              help="a conversation as a JSON list of {role, content} ('-' for stdin); its last user turn "
                   "is classified in context")
@click.option("--json", "as_json", is_flag=True, help="print the classification as JSON")
@click.pass_context
def classify(ctx: click.Context, prompt: str | None, messages_path: str | None, as_json: bool) -> None:
    """Classify a prompt: tier, task type, confidence and, in words, what made it harder or easier."""
    reply = _call(ctx, {"type": "classify", **_prompt_request(prompt, messages_path)})
    if as_json:
        defaults = {"level5": "medium", "score": 0.0, "source": "learned", "signals": [], "p_simple": 0.5,
                    "p_moderate": 0.5, "explanation": [], "profile": "balanced", "bar": 0.5, "budget_pressure": 0.0}
        output.emit_json({k: reply.get(k, defaults.get(k)) for k in ("tier", "task_type", "confidence", "level5",
                                                                   "score", "p_simple", "p_moderate", "source",
                                                                   "signals", "explanation", "profile", "bar",
                                                                   "budget_pressure")})
        return
    source = reply.get("source", "learned")
    pressure = reply.get("budget_pressure", 0.0)
    output.emit_fields([
        ("tier", f"{reply['tier']} ({reply.get('level5', 'medium')})"),
        ("task type", reply["task_type"]),
        ("confidence", f"{reply['confidence']:.2f}" + ("" if source == "learned" else f" ({source})")),
        ("profile", f"{reply.get('profile', 'balanced')}  bar {reply.get('bar', 0.5):.2f}"
                    + (f"  budget pressure {pressure:.2f}" if pressure else "")),
        ("p(enough)", f"simple {reply.get('p_simple', 0.5):.2f}  moderate {reply.get('p_moderate', 0.5):.2f}  "
                      f"score {reply.get('score', 0.0):.2f}"),
        *_read(reply),
    ])


@click.command()
@click.argument("prompt", required=False)
@click.option("--messages", "messages_path", metavar="FILE", help="a conversation as JSON ('-' for stdin)")
@click.option("--explain", is_flag=True, help="list every catalogue model and why it was kept, skipped or ranked")
@click.option("--model", help="a model the client asked for by name (it goes first if usable)")
@click.option("--session", "session_id", help="session id, for stickiness")
@click.option("--json", "as_json", is_flag=True, help="print the decision as JSON")
@click.pass_context
def route(ctx: click.Context, prompt: str | None, messages_path: str | None, explain: bool, model: str | None,
          session_id: str | None, as_json: bool) -> None:
    """Decide where a prompt should go, without calling any model (the decision is stored)."""
    request = {"type": "route", "explain": explain, "model": model, "session_id": session_id,
               "source": "routerctl", **_prompt_request(prompt, messages_path)}
    reply = _call(ctx, request)
    if as_json:
        reply.pop("v", None)
        reply.pop("type", None)
        output.emit_json(reply)
        return
    where = f"{reply['provider']}/{reply['model']}" if reply.get("provider") else f"{reply['model']} (advisory)"
    output.emit_fields([
        ("decision", reply["decision_id"]),
        ("model", where),
        ("tier", f"{reply['tier']}  task type {reply['task_type']}  confidence {reply['confidence']:.2f}"),
        ("profile", f"{reply.get('profile', 'balanced')}  p(enough): simple {reply.get('p_simple', 0.5):.2f}  "
                    f"moderate {reply.get('p_moderate', 0.5):.2f}  bar {reply.get('bar', 0.5):.2f}"),
        ("candidates", ", ".join(reply.get("candidates", [])) or "none (no provider enabled)"),
        *([("scenario", _scenario(reply, explain))] if reply.get("scenario") else []),
    ])
    if explain:
        click.echo("why:")
        for reason in reply.get("reasons", []):
            click.echo(f"  - {reason}")
        click.echo("what moved the score:")
        for key, value in _read(reply):
            click.echo(f"  {key}: {value}")
        click.echo("models:")
        for verdict in sorted(reply.get("verdicts", []), key=lambda v: (v.get("rank") is None, v.get("rank") or 0)):
            mark = f"#{verdict['rank'] + 1:<3}" if verdict.get("rank") is not None else "  - "
            click.echo(f"  {mark} {verdict['model']:<36} {verdict['tier']:<9} {'; '.join(verdict.get('reasons', []))}")


def _read(reply: dict) -> list[tuple[str, str]]:
    """What moved the brain's score, in words: what made the prompt harder, and what easier, each
    with how far it moved the score; the raw signals from a daemon that sends no explanation."""
    explanation = reply.get("explanation", [])
    if not explanation:
        return [("signals", ", ".join(reply.get("signals", [])) or "none")]
    rows = []
    if reply.get("source", reply.get("classification_source", "learned")) != "learned":
        rows.append(("note", "the classifier model gave the tier (a second opinion); the brain read:"))
    for side, sign in (("harder", 1), ("easier", -1)):
        said = [f"{item['says']} ({item['weight']:+.2f})" for item in explanation if item["weight"] * sign > 0]
        if said:
            rows.append((side, ", ".join(said)))
    return rows


def _scenario(reply: dict, explain: bool) -> str:
    """The decision's scenario; with ``explain``, the evidence and what the scenario step did."""
    scenario, reasons = reply["scenario"], reply.get("scenario_reasons", []) if explain else []
    text = "; ".join(reasons) or scenario  # the evidence names the scenario first: "default (no scenario marker)"
    return text if text.startswith(scenario) else f"{scenario}: {text}"


@click.command()
@click.argument("decision_id")
@click.option("--to", "to", required=True, metavar="MODEL_OR_TIER", help="the tier or model it should have gone to")
@click.option("--reason", default="", help="why (kept with the feedback)")
@click.pass_context
def reroute(ctx: click.Context, decision_id: str, to: str, reason: str) -> None:
    """Record that a decision should have gone elsewhere; similar prompts follow it from now on."""
    data = _call(ctx, {"type": "reroute", "decision_id": decision_id, "to": to, "reason": reason})["data"]
    click.echo(f"rerouted {decision_id}: {data['decided_tier']} -> {to}; {data['message']}")


@click.command()
@click.argument("decision_id")
@click.argument("rating", type=click.Choice(["good", "bad"]))
@click.option("--reason", default="", help="why (kept with the feedback)")
@click.pass_context
def rate(ctx: click.Context, decision_id: str, rating: str, reason: str) -> None:
    """Rate a decision good or bad; a bad rating sends similar prompts one tier up."""
    data = _call(ctx, {"type": "rate", "decision_id": decision_id, "rating": rating, "reason": reason})["data"]
    click.echo(f"rated {decision_id} {rating}; {data['message']}")


@click.command()
@click.argument("new_profile", required=False, type=click.Choice(PROFILES))
@click.pass_context
def profile(ctx: click.Context, new_profile: str | None) -> None:
    """Show or switch the routing profile (persisted; overrides config routing.profile)."""
    data = _call(ctx, {"type": "set_profile", "profile": new_profile or ""})["data"]
    suffix = "" if data["profile"] == data["config_profile"] else f" (config says {data['config_profile']})"
    click.echo(f"profile: {data['profile']}{suffix}")


COMMANDS = [classify, route, reroute, rate, profile]
