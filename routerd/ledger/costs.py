"""What a call cost, and what the same call would have cost on the baseline model: one formula for
every row the ledger keeps, gateway and hook alike (README "Accounting").

- cost: the call's tokens, as the provider reported them (cache reads, cache writes by TTL,
  reasoning), at the rates of the model that served them (``routerd.catalogue.prices``). Zero when
  the provider is configured ``local = true`` or the catalogue prices the model at zero (``free``);
  ``None`` ("unknown", never zero) when no rates are known. An address on this machine proves
  nothing: a LiteLLM proxy or a company gateway on localhost bills.
- baseline cost: the same tokens, with the same cache treatment, at the baseline model's market
  rates (wherever it would have been served). The baseline is the model the client asked for; for
  ``auto`` and for the hook rows routing chose (``routerd.ledger.turns``),
  ``accounting.baseline_model`` when set.
- saved: baseline cost minus cost, summed over the calls where both are known.
"""

from routerd.catalogue.models import Catalogue
from routerd.catalogue.prices import Tokens, cost_usd

Model = tuple[str, str]  # (provider, model id); provider "" when unknown (any provider's price)
DIGITS = 10  # stored precision: a ten-billionth of a dollar
_NOTHING = Tokens()


def price(catalogue: Catalogue | None, model: Model | None, tokens: Tokens, *,
          local: bool = False) -> float | None:
    """``tokens`` at ``model``'s rates in USD, or None when unknown (``local``: zero). A call that
    used nothing (an attempt that failed before any token: a timeout, a refusal, a 5xx) cost
    nothing at any price, so it is 0 even on a model nobody prices: it is not "unknown", which
    reports leave out of the spend and the savings and count as a price to find."""
    if local or tokens == _NOTHING:
        return 0.0
    if catalogue is None or model is None:
        return None
    rates = catalogue.rates(*model)
    return round(cost_usd(rates, tokens), DIGITS) if rates is not None else None


def compared_with(catalogue: Catalogue | None, configured: str | None) -> str:
    """What savings are counted against, in words, for the reports to say beside the figure: the
    rule ``routerd.gateway.record`` and ``routerd.ledger.turns`` apply, with ``configured``
    (``accounting.baseline_model``) resolved as they resolve it."""
    named = ("the same tokens (cache reads and writes, reasoning, searches alike) on the model the client "
             "named, which saves 0 (passed through, retried, answered by a fallback, a main-conversation turn "
             "hooks read)")
    model = configured_baseline(catalogue, configured)
    if model is not None:
        return (f"{named}; auto, subagent turns and Gemini CLI turns: {'/'.join(model) if model[0] else model[1]} "
                "(accounting.baseline_model)")
    return (f"{named}; auto: the priciest model the brain would have accepted, of the maker whose API the "
            "client speaks; subagent turns and Gemini CLI turns: the session's main model")


def configured_baseline(catalogue: Catalogue | None, name: str | None) -> Model | None:
    """``accounting.baseline_model`` (``provider/model``, a model id or an alias) as a model."""
    if not name:
        return None
    head, sep, rest = name.partition("/")
    if sep:
        return head, rest
    info = catalogue.get(name) if catalogue is not None else None
    return (info.provider, info.id) if info is not None else ("", name)

