"""The ``[budgets]`` config section: daily and monthly limits in dollars and tokens, overall, per
provider and per project.

    [budgets]                          overall limits
    daily_usd = 5.0
    monthly_usd = 100.0
    [budgets.providers.openai]         one provider's
    daily_tokens = 2_000_000
    [budgets.projects."acme/shop"]     one project's (git remote owner/repo, or the directory)

Every limit is a hard cap on paid calls: a call that would go past it is refused (free local models
still serve), and before that the spent share makes the routing policy pick cheaper models
(``routerd.budgets.budgets``). A limit left out is no limit. A token limit is a whole number of
tokens, at least 1; a dollar limit is a finite amount above 0 and at most ``MAX_USD``.
"""

from typing import Annotated

import msgspec
from msgspec import Meta

# A cap beyond any real spend: larger amounts are typos (or ``inf``) and would print as noise.
MAX_USD = 1_000_000_000.0
MAX_TOKENS = 10 ** 15

Usd = Annotated[float, Meta(gt=0, le=MAX_USD)]
TokenCount = Annotated[int, Meta(ge=1, le=MAX_TOKENS)]


class Limits(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    daily_usd: Usd | None = None
    monthly_usd: Usd | None = None
    daily_tokens: TokenCount | None = None
    monthly_tokens: TokenCount | None = None

    def amounts(self) -> list[tuple[str, str, float]]:
        """(metric, window, limit) of every limit set: metric ``usd`` or ``tokens``, window ``day``
        or ``month``."""
        found = [("usd", "day", self.daily_usd), ("usd", "month", self.monthly_usd),
                 ("tokens", "day", self.daily_tokens), ("tokens", "month", self.monthly_tokens)]
        return [(metric, window, float(limit)) for metric, window, limit in found if limit is not None]


class BudgetsConfig(Limits, frozen=True):
    providers: dict[str, Limits] = {}
    projects: dict[str, Limits] = {}
    # Whether providers' own windows (rate-limit and subscription headers) add to the pressure.
    provider_windows: bool = True

    @property
    def configured(self) -> bool:
        return bool(self.amounts() or any(lim.amounts() for lim in (*self.providers.values(),
                                                                      *self.projects.values())))
