"""The budgets as one part of the app: ``Budgets`` (``routerd.budgets``) fed from the ledger.

``Spending`` knows which providers are paid (not ``local = true``) in the running runtime and the
project of a session (the ledger notes it from the ``cwd`` the hooks send), so that the routing
core asks ``pressure(runtime, session)`` and dispatch asks ``reserve`` without knowing either.
``sync`` brings the settled use in line with the ledger (at start, then every ``SYNC_S``) and logs
each limit or provider window that crossed a threshold; a reload that adds a limit reads the ledger
for it before the swap (``ledger_for``). Only the event loop touches it; the store
is read in a worker thread.
"""

import logging
import time
from collections.abc import Iterable

from routerd.budgets.budgets import BudgetStats, Budgets, Spend, level_of
from routerd.budgets.settings import BudgetsConfig
from routerd.ledger.periods import period_end, period_start
from routerd.ledger.state import MAX_REMEMBERED, Ledger
from routerd.resilience.limiter import Observation
from routerd.resilience.limits import Reservation
from routerd.resilience.refusal import Refusal
from routerd.runtime import Runtime
from routerd.store.budgets import budget_spend, session_projects
from routerd.store.store import Store

log = logging.getLogger("routerd.budgets")
# How often the budgets are summed from the ledger again (hook rows, other writers, a new day).
SYNC_S = 15.0


def free_local(runtime: Runtime) -> bool:
    """Whether a provider configured ``local`` (free: never reserved, never refused) serves, so
    that a refusal may say free local models still do."""
    return any(provider.local for provider in runtime.providers.values())


class Spending:
    def __init__(self, config: BudgetsConfig, ledger: Ledger, store: Store) -> None:
        self.budgets = Budgets(config)
        self.ledger = ledger
        self.store = store
        self.refused = 0
        # The projects of the latest sessions as the store has them, read by each ``sync`` while
        # project limits are set: a session noted before this start (or by another routerd on the
        # database) is its project's from its first gateway call, not only once a hook of that
        # session names its cwd again.
        self._stored_sessions: dict[str, str] = {}

    @property
    def active(self) -> bool:
        """Whether any limit is configured (else nothing is reserved on the proxy path)."""
        return self.budgets.configured

    async def ledger_for(self, runtime: Runtime) -> tuple[list[Spend], float] | None:
        """The ledger's sums (and when they were read) when ``runtime`` adds a limit, for
        ``reconfigure``; None when every limit it has is running already. Read before the swap:
        a limit that started empty would let paid calls past its cap until the next ``sync``."""
        if not self.budgets.adds_limits(runtime.config.budgets):
            return None
        now = time.time()
        return await self._spent(now), now

    def reconfigure(self, runtime: Runtime, ledger: tuple[list[Spend], float] | None = None) -> None:
        """Swap in ``runtime``'s limits; new ones start from ``ledger`` (``ledger_for``). What settles
        between that read and this call reaches a new limit at the next ``sync``."""
        spent, now = ledger if ledger is not None else ((), None)
        self.budgets.reconfigure(runtime.config.budgets, spent=spent, now=now)

    def project_of(self, session_id: str | None) -> str | None:
        if not session_id:
            return None
        if session_id in self.ledger.sessions:
            return self.ledger.sessions[session_id]
        return self._stored_sessions.get(session_id)

    @staticmethod
    def paid_providers(runtime: Runtime) -> list[str]:
        return [name for name, provider in runtime.providers.items() if not provider.local]

    def pressure(self, runtime: Runtime, session_id: str | None) -> float:
        """The routing policy's budget pressure for a request of ``session_id`` (0..1)."""
        return self.budgets.pressure(time.time(), self.project_of(session_id), self.paid_providers(runtime))

    def reserve(self, provider: str, model: str, session_id: str | None,
                amounts: dict[str, float]) -> Reservation | Refusal:
        found = self.budgets.reserve(provider, model, self.project_of(session_id), amounts, time.time())
        if isinstance(found, Refusal):
            log.debug("budget: refused a paid call to %s/%s: %s", provider, model, found.describe())
        return found

    def turned_away(self, refusals: Iterable[Refusal]) -> None:
        """A request no paid call served, whose candidates the budgets refused (``refusals``):
        counted once per request, not once per candidate."""
        refusals = list(refusals)
        if refusals:
            self.refused += 1
            self.budgets.turned_away(refusals)

    def observe(self, provider: str, limits: list[Observation], headers: Iterable[tuple[bytes, bytes]],
                now: float, kind: str | None = None) -> None:
        self.budgets.observe(provider, limits, headers, now, kind)

    def note(self, runtime: Runtime, session_id: str | None) -> str | None:
        """A line for the hook's context once spending steers routing, else None."""
        now, project, paid = time.time(), self.project_of(session_id), self.paid_providers(runtime)
        share = self.budgets.spent_share(now, project, paid)
        level = level_of(share)
        if level == "ok":
            return None
        what = {"steering": "routing prefers cheaper models", "high": "routing strongly prefers cheaper models",
                "capped": "paid calls are refused"}[level]
        if level == "capped" and self.budgets.spent_share(now, project, paid, windows=False) < 1.0:
            # a provider's own window is used up: it refuses, routerd's limits do not
            what = "routing strongly prefers cheaper models (a provider's plan window is used up)"
        elif level == "capped" and free_local(runtime):
            what += "; free local models still serve"
        return f"routerd budget: {share:.0%} spent ({level}): {what}."

    def budget_share(self, runtime: Runtime, session_id: str | None) -> float | None:
        """The statusline's budget slot: the spent share behind the pressure, or None when no
        limit is configured and no provider window is known."""
        if not self.active and not self.budgets.windows.statistics(time.time()):
            return None
        return round(self.budgets.spent_share(time.time(), self.project_of(session_id),
                                              self.paid_providers(runtime)), 4)

    async def sync(self) -> None:
        """Read the sessions' projects (with project limits set) and sum the ledger's paid use
        again, then log any threshold crossed."""
        # While the store holds rows it cannot write (disk full...), the ledger lacks spend that
        # settled here: its sums would lower the budgets and let paid calls past the caps. The
        # budgets keep what they counted until every row is written.
        if self.active and await self.store.flush():
            if self.budgets.config.projects:
                self._stored_sessions = await self.store.read(lambda conn: session_projects(conn, MAX_REMEMBERED))
            now = time.time()
            marks = self.budgets.marks(now)
            self.budgets.resync(await self._spent(now), marks, time.time())
        for name, old, new in self.budgets.crossings(time.time()):
            level = logging.WARNING if new in ("high", "capped") else logging.INFO
            log.log(level, "budget: %s went from %s to %s", name, old, new)

    async def _spent(self, now: float) -> list[Spend]:
        """The ledger's paid use this month and today, once what was enqueued is committed."""
        await self.store.flush()
        return await self.store.read(lambda conn: budget_spend(
            conn, period_start("month", now), period_start("today", now),
            period_end("month", now), period_end("today", now)))

    def statistics(self, runtime: Runtime) -> BudgetStats:
        return self.budgets.statistics(time.time(), self.paid_providers(runtime))
