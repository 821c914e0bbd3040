"""The socket's replies that carry the ledger's reports: usage, savings, budgets, the status line,
the dashboard's data and an export's frames. Each is a ``data`` reply (``{"type": "data", "kind":
..., "data": ...}``) whose ``kind`` names the request it answers.
"""

from typing import Any, Literal

import msgspec

from routerd.protocol.replies import Reply


class DecisionCount(msgspec.Struct, kw_only=True, frozen=True):
    tier: str | None
    model: str | None
    count: int


# A report row: the group's key under the grouping's own name (``"model": "gpt-4o"``, ``"day": ...``),
# then calls, tokens of every kind, cost and savings (``routerd.ledger.reports``). A dict, since the
# name of its key column is the grouping's.
ReportRow = dict[str, Any]


class UsageReport(msgspec.Struct, kw_only=True, frozen=True):
    """Calls, tokens, cost and savings per group over a window, and their total."""

    period: str | None
    since: str | None
    start: float
    group_by: str
    groups: list[ReportRow]
    total: ReportRow
    compared_with: str = ""  # what the baseline is, in words (``routerd.ledger.costs.compared_with``)


class FullReport(UsageReport, frozen=True):
    """A usage report and the routing decisions behind it."""

    decisions: list[DecisionCount]


class SavingsReport(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """Money saved against the baseline over a window (per group with ``group_by``), and the
    decisions by tier and model. Money is None ("unknown") when no call has both prices."""

    period: str | None
    since: str | None
    start: float
    cost_usd: float | None  # None: calls, none of them with a known price
    uncosted_calls: int
    priced_calls: int
    unpriced_calls: int
    priced_cost_usd: float | None
    baseline_cost_usd: float | None
    saved_usd: float | None
    saved_pct: float | None
    decisions: list[DecisionCount]
    # The part of saved_usd made on calls that cost 0 (a local provider, a model priced 0): what
    # the baseline would have cost for them, all of it (None when nothing is priced).
    free_saved_usd: float | None = None
    group_by: str | None = None
    groups: list[ReportRow] | None = None
    compared_with: str = ""  # what the baseline is, in words (``routerd.ledger.costs.compared_with``)


class StatusLineData(msgspec.Struct, kw_only=True, frozen=True):
    """Today's calls, spend and savings and the last model used, for a one-line status."""

    calls: int
    cost_usd: float | None  # None: calls, none of them with a known price
    saved_usd: float | None
    saved_pct: float | None
    last_model: str | None
    last_provider: str | None
    budget: float | None = None
    uncosted_calls: int = 0  # calls of an unknown price, left out of cost_usd


class UsageReply(Reply, tag="data"):
    """``usage``."""

    kind: Literal["usage"]
    data: UsageReport


class SavingsReply(Reply, tag="data"):
    """``savings``."""

    kind: Literal["savings"]
    data: SavingsReport


class ReportReply(Reply, tag="data"):
    """``report``."""

    kind: Literal["report"]
    data: FullReport


class BudgetLimit(msgspec.Struct, kw_only=True, frozen=True):
    """One limit of ``[budgets]`` now: ``share`` is (used + reserved) / limit."""

    name: str
    scope: str
    metric: str
    window: str
    limit: float
    used: float
    reserved: float
    share: float
    level: str
    resets_at: float
    refused: int


class BudgetWindow(msgspec.Struct, kw_only=True, frozen=True):
    """A provider's own window from its headers (subscription or rate limit); ``note`` what else
    its provider said of it (a Codex plan's credits, "one model's limit", the limit reached)."""

    provider: str
    name: str
    used_share: float
    resets_at: float | None
    note: str = ""


class BudgetReport(msgspec.Struct, kw_only=True, frozen=True):
    configured: bool
    pressure: float
    level: str
    spend_usd: dict[str, float]
    limits: list[BudgetLimit]
    windows: list[BudgetWindow]


class BudgetReply(Reply, tag="data"):
    """``budget``."""

    kind: Literal["budget"]
    data: BudgetReport


class StatusLineReply(Reply, tag="data"):
    """``statusline``."""

    kind: Literal["statusline"]
    data: StatusLineData


class Percentiles(msgspec.Struct, kw_only=True, frozen=True):
    """Milliseconds at the 50th, 90th and 99th percentile of ``n`` samples (None: no sample)."""

    n: int
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


class BreakerState(msgspec.Struct, kw_only=True, frozen=True):
    provider: str
    state: str
    recent_failure_rate: float
    retry_at: float | None


class DecisionRow(msgspec.Struct, kw_only=True, frozen=True):
    """A recent decision as the dashboard lists it (``feedback``: its latest, ``rate:good``)."""

    id: str
    ts: float
    source: str
    tier: str | None
    task_type: str | None
    model: str | None
    provider: str | None
    feedback: str | None
    answered_by: str | None
    cost_usd: float | None


class DashboardData(msgspec.Struct, kw_only=True, frozen=True):
    """``days``, ``models`` and ``tiers`` are usage report rows (``routerctl usage --by ...``);
    ``latency`` and ``ttft`` cover the latest calls of the last day, ``overhead`` the calls since
    the daemon started; ``tiers_to`` are the reroute targets offered."""

    generated_at: float
    period: str
    total: dict[str, Any]
    days: list[dict[str, Any]]
    models: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
    latency: Percentiles
    ttft: Percentiles
    overhead: Percentiles
    breakers: list[BreakerState]
    budget: BudgetReport
    decisions: list[DecisionRow]
    tiers_to: list[str]
    compared_with: str = ""  # what the baseline is, in words (``routerd.ledger.costs.compared_with``)


class DashboardReply(Reply, tag="data"):
    """``dashboard``."""

    kind: Literal["dashboard"]
    data: DashboardData


class ExportHead(msgspec.Struct, kw_only=True, frozen=True):
    table: str
    columns: list[str]
    total: int


class ExportRows(msgspec.Struct, kw_only=True, frozen=True):
    rows: list[tuple[Any, ...]]


class ExportEnd(msgspec.Struct, kw_only=True, frozen=True):
    rows: int


class ExportHeadReply(Reply, tag="data"):
    """``export``'s first frame (not final): the table, its columns and how many rows follow."""

    kind: Literal["export"]
    data: ExportHead


class ExportRowsReply(Reply, tag="data"):
    """A page of ``export`` rows (not final)."""

    kind: Literal["export_rows"]
    data: ExportRows


class ExportEndReply(Reply, tag="data"):
    """``export``'s final frame: how many rows were sent."""

    kind: Literal["export_end"]
    data: ExportEnd
