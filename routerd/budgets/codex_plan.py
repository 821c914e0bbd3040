"""What a ChatGPT plan's Codex backend says about the plan on each answer, read as codex-rs reads it
(``codex-api/src/rate_limits.rs``; its 429 handling in ``core``):

    x-codex-{primary,secondary}-used-percent        the plan's two windows (``provider_windows``)
    x-codex-{primary,secondary}-window-minutes      ... how long each lasts, which names it ("5h", "7d")
    x-codex-{primary,secondary}-reset-at            ... when it starts over (Unix seconds;
    x-codex-{primary,secondary}-reset-after-seconds     older servers: from now)
    x-codex-credits-has-credits                     "true"/"1" or "false"/"0": credits are left
    x-codex-credits-unlimited                       "true"/"1" or "false"/"0"
    x-codex-credits-balance                         what is left, as the backend writes it ("12.50")
    x-codex-rate-limit-reached-type                 on a refusal (429 usage_limit_reached): which
                                                    limit refused it (``REACHED``)
    x-codex-<family>-{primary,secondary}-*          another family's windows: one model's own limit
    x-codex-<family>-limit-name                     ... the model it meters ("gpt-5.2-codex-sonic")

Credits are read only when both booleans are (as codex-rs does). A plan with credits left is
served past a window at 100 %: Codex draws on the credits. A reached type is a limit the backend
refused a call for, credits notwithstanding (a workspace's credits or usage limit, or the plan's).
A stream's ``codex.rate_limits`` event carries the same (``rate_limits.{primary,secondary}``,
``credits``, ``metered_limit_name``; ``rate_limits.limit_reached`` says its windows are spent):
``event_headers`` writes it as these headers, so that one reader reads both.

Pure: ``now`` is a Unix time.
"""

import math
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from routerd.budgets.spans import span_name, span_s
from routerd.resilience.ratelimit_headers import reset_time

_WINDOW = re.compile(rb"x-(codex(?:-[a-z0-9-]+?)?)-(primary|secondary)-"
                     rb"(used-percent|window-minutes|reset-at|reset-after-seconds)")
_LIMIT_NAME = re.compile(rb"x-(codex-[a-z0-9-]+)-limit-name")
_PLAN = {b"x-codex-credits-has-credits": "has_credits", b"x-codex-credits-unlimited": "unlimited",
         b"x-codex-credits-balance": "balance", b"x-codex-rate-limit-reached-type": "reached"}
# codex-rs's RateLimitReachedType; another value is not read (as codex-rs does not).
REACHED = frozenset({"rate_limit_reached", "workspace_owner_credits_depleted", "workspace_member_credits_depleted",
                     "workspace_owner_usage_limit_reached", "workspace_member_usage_limit_reached"})
_FIELDS = ("used_percent", "window_minutes", "reset_at", "reset_after_seconds")
_MAX_NAME = 64  # a model's limit name shown in status; longer is no name


class Credits(NamedTuple):
    has_credits: bool
    unlimited: bool
    balance: str | None

    @property
    def left(self) -> bool:
        return self.has_credits or self.unlimited

    def describe(self) -> str:
        if self.unlimited:
            return "unlimited credits"
        if not self.has_credits:
            return "no credits left"
        return f"credits left ({self.balance})" if self.balance else "credits left"


class CodexPlan(NamedTuple):
    """One answer's word on the plan: its windows (name, spent share 0..1, when it starts over),
    other families' (one model's limit each, named "<model> <span>"), its credits and the limit
    that refused the call (None when unsaid)."""

    windows: list[tuple[str, float, float]]
    models: list[tuple[str, float, float]]
    credits: Credits | None
    reached: str | None


def read_plan(pairs: Iterable[tuple[bytes, bytes]], now: float) -> CodexPlan | None:
    """The plan's word in one answer's headers (lower-cased or not), or None when they hold none."""
    slots: dict[tuple[str, str], dict[str, str]] = {}
    names: dict[str, str] = {}
    plan: dict[str, str] = {}
    for raw, value in pairs:
        if raw[:3] not in (b"x-c", b"X-C", b"x-C", b"X-c"):  # most headers: no lowering, no pattern
            continue
        lowered = raw.lower()
        text = value.decode("latin-1").strip()
        if field := _PLAN.get(lowered):
            plan[field] = text
        elif match := _WINDOW.fullmatch(lowered):
            family, slot, what = (group.decode() for group in match.groups())
            slots.setdefault((family, slot), {})[what] = text
        elif match := _LIMIT_NAME.fullmatch(lowered):
            names[match.group(1).decode()] = text
    if not (slots or plan):
        return None
    windows: dict[str, tuple[float, float]] = {}
    models: dict[str, tuple[float, float]] = {}
    for (family, slot), fields in slots.items():
        read = _window(slot, fields, now)
        if read is None:
            continue
        name, share, resets_at = read
        if family != "codex":   # one model's limit: named by the model (else its family) and span
            model = names.get(family, "")
            name = f"{model if 0 < len(model) <= _MAX_NAME else family} {name}"
        table = windows if family == "codex" else models
        if share >= table.get(name, (-1.0, 0.0))[0]:
            table[name] = (share, resets_at)
    reached = plan.get("reached")
    return CodexPlan([(n, s, r) for n, (s, r) in windows.items()], [(n, s, r) for n, (s, r) in models.items()],
                     _credits(plan), reached if reached in REACHED else None)


def _credits(plan: dict[str, str]) -> Credits | None:
    has, unlimited = _bool(plan.get("has_credits")), _bool(plan.get("unlimited"))
    if has is None or unlimited is None:
        return None
    return Credits(has, unlimited, plan.get("balance") or None)


def _bool(text: str | None) -> bool | None:
    if text is None:
        return None
    lowered = text.lower()
    return True if lowered in ("true", "1") else False if lowered in ("false", "0") else None


def _window(slot: str, fields: dict[str, str], now: float) -> tuple[str, float, float] | None:
    """One window: (name, spent share, when it starts over), or None when it says nothing (0 %,
    no span, no reset) or its percentage is no finite number. Named by its span ("5h", "7d"), else
    by its slot ("primary")."""
    try:
        used = float(fields["used-percent"])
    except (KeyError, ValueError):
        return None
    span = fields.get("window-minutes", "")
    minutes = int(span) if span.isdigit() else 0
    reset = reset_time(fields.get("reset-at"), now)
    if reset is None:
        reset = reset_time(fields.get("reset-after-seconds"), now)
    if not math.isfinite(used) or not (used or minutes or reset is not None):
        return None
    name = span_name(minutes) or slot
    return name, min(max(used / 100.0, 0.0), 1.0), now + span_s(name) if reset is None else reset


def event_headers(event: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """A Codex stream's ``codex.rate_limits`` event (``{"rate_limits": {"primary": {"used_percent":
    7, "window_minutes": 300, "reset_at": 1779398785}, "secondary": ..., "limit_reached": false},
    "credits": {"has_credits": true, "unlimited": false, "balance": "12.5"}, "metered_limit_name":
    "codex"}``) as the headers that carry the same, for ``read_plan``. A ``limit_reached`` event
    without credits left reads as the plan's limit reached."""
    limits = event.get("rate_limits")
    limits = limits if isinstance(limits, dict) else {}
    family = event.get("metered_limit_name") or event.get("limit_name")
    family = family.strip().lower().replace("_", "-") if isinstance(family, str) and family.strip() else "codex"
    if not re.fullmatch(r"[a-z0-9-]{1,64}", family):
        family = "codex"
    prefix = f"x-{family}" if family == "codex" or family.startswith("codex-") else f"x-codex-{family}"
    out = []
    for slot in ("primary", "secondary"):
        window = limits.get(slot)
        if isinstance(window, dict):
            out += [(f"{prefix}-{slot}-{field.replace('_', '-')}".encode(), str(value).encode())
                    for field in _FIELDS
                    if isinstance(value := window.get(field), (int, float)) and not isinstance(value, bool)]
    credits = event.get("credits")
    left = False
    if isinstance(credits, dict) and isinstance(credits.get("has_credits"), bool) \
            and isinstance(credits.get("unlimited"), bool):
        left = credits["has_credits"] or credits["unlimited"]
        out += [(b"x-codex-credits-has-credits", str(credits["has_credits"]).lower().encode()),
                (b"x-codex-credits-unlimited", str(credits["unlimited"]).lower().encode())]
        if isinstance(balance := credits.get("balance"), (str, int, float)) and not isinstance(balance, bool):
            out.append((b"x-codex-credits-balance", str(balance).encode()))
    if limits.get("limit_reached") is True and not left and prefix == "x-codex":
        out.append((b"x-codex-rate-limit-reached-type", b"rate_limit_reached"))
    return out
