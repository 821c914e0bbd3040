"""The ledger's in-memory part: counters for ``routerctl status``, the projects of recent working
directories and the sessions already noted, so that a session's project is looked up once.

One per app (``app.ledger``); the gateway and the hooks count what they record. Only the event loop
touches it.
Everything it remembers is bounded; the rows themselves live in the store.
"""

from collections import OrderedDict

import msgspec

MAX_REMEMBERED = 10_000


class LedgerStats(msgspec.Struct, frozen=True):
    """``calls_recorded`` and the others count the rows this run queued; ``hook_calls`` is the hook
    rows the ledger holds, read from it, since a hook row the gateway also recorded is dropped
    (one call, one row) after it was queued: it agrees with ``routerctl usage --by source``."""

    calls_recorded: int
    hook_calls: int
    estimated_calls: int
    unpriced_calls: int
    sessions_noted: int


class Ledger:
    def __init__(self) -> None:
        self.projects: OrderedDict[str, str | None] = OrderedDict()  # cwd -> project
        self.sessions: OrderedDict[str, str | None] = OrderedDict()  # session id -> project
        self.counts = {"calls_recorded": 0, "estimated_calls": 0, "unpriced_calls": 0}

    def counted(self, *, estimated: bool, priced: bool) -> None:
        counts = self.counts
        counts["calls_recorded"] += 1
        counts["estimated_calls"] += estimated
        counts["unpriced_calls"] += not priced

    def remember(self, table: OrderedDict[str, str | None], key: str, value: str | None) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > MAX_REMEMBERED:
            table.popitem(last=False)

    def statistics(self, hook_calls: int) -> LedgerStats:
        """The counters, with ``hook_calls`` as the store counts them (``store.ledger.hook_rows``)."""
        return LedgerStats(hook_calls=hook_calls, sessions_noted=len(self.sessions), **self.counts)
