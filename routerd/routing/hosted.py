"""Hosted tools and the providers that can run them. Pure: the request and the providers in,
verdicts out.

A hosted (server-side) tool runs on the provider's own servers: Anthropic's ``web_search_20250305``,
the Responses API's ``web_search``, Gemini's ``google_search``, chat completions' ``web_search_options``
(a search model's request), code execution and the like. A request translated away from its dialect
keeps a hosted tool only where the other dialect's API has the same tool (``dialects.hosted``: the
web search, between Anthropic, Responses and Gemini, with the options the target can state); it
loses any other, and the model would answer without it (a search "answered" from memory). So a
request's hosted tools run on a provider that speaks the client's dialect, or one whose dialect
runs them all (an OpenAI provider serving ``/responses`` takes the request there, not to chat
completions).

Which of them a request cannot do without (``needed``): every hosted tool when it offers no function
tool of its own, and one forced by ``tool_choice`` (Claude Code's WebSearch tool sends
``web_search_20250305`` alone, forced). Every candidate of such a request must run them; when none
can, the client is told so (``HostedToolUnsupported``). A hosted tool offered beside function tools
(Codex offers ``web_search`` on every turn) is a capability the model may use: the brain's picks that
can run it go first, and a request may still go where it cannot (the decision's reasons say so).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from routerd.dialects.canonical import ChatRequest, WebSearch
from routerd.dialects.hosted import able, refusal
from routerd.dialects.registry import DIALECTS, get
from routerd.errors import HostedToolUnsupported
from routerd.providers import Provider
from routerd.routing.types import Candidate

# Chat completions' hosted search is a request field, not a tool (search models only).
SEARCH_OPTIONS = "web_search_options"


@dataclass(frozen=True, slots=True)
class Hosted:
    """A request's hosted tools: all it offers, and those it cannot do without."""

    offered: tuple[str, ...] = ()
    needed: tuple[str, ...] = ()
    needed_by: frozenset[str] = frozenset()   # the dialects that run every needed tool
    offered_by: frozenset[str] = frozenset()  # the dialects that run every offered tool
    why_not: tuple[str, ...] = ()             # why each other dialect does not run the needed tools


def read(req: ChatRequest | None, hosted_tools: tuple[str, ...], body: bytes = b"", dialect: str = "") -> Hosted:
    """The hosted tools of a ``dialect`` request (``hosted_tools``: the types its raw ``tools`` and
    ``additional_tools`` held; ``body``: the client's, where chat completions'
    ``web_search_options`` may be), and the dialects that run them. A request that does not parse
    needs all it offers, and only its own dialect runs them."""
    offered = hosted_tools
    if SEARCH_OPTIONS.encode() in body and (req is None or req.extra.get(SEARCH_OPTIONS) is not None):
        offered += (SEARCH_OPTIONS,)
    if req is None:
        return Hosted(offered, offered, frozenset({dialect}), frozenset({dialect}))
    search, functions = req.web_search, bool(req.tools)
    offered_by = able(dialect, offered, search, DIALECTS, functions)
    if not offered or not req.tools:
        return Hosted(offered, offered, offered_by, offered_by, _why_not(dialect, offered, search, functions))
    choice = req.tool_choice
    forced = choice is not None and choice.mode == "tool" and choice.name not in {t.name for t in req.tools}
    needed = tuple(k for k in offered if k == SEARCH_OPTIONS or forced)
    return Hosted(offered, needed, able(dialect, needed, search if needed else None, DIALECTS, functions), offered_by,
                  _why_not(dialect, needed, search, functions))


def _why_not(dialect: str, needed: tuple[str, ...], search: WebSearch | None, functions: bool) -> tuple[str, ...]:
    if not needed:
        return ()
    return tuple(why for d in DIALECTS if (why := refusal(dialect, d, needed, search, functions)) is not None)


def runs_on(provider: Provider | None, dialects: frozenset[str]) -> bool:
    """Whether ``provider`` can run a request's hosted tools: it speaks one of the ``dialects``
    that run them (the client's own, or one they translate to)."""
    return provider is not None and any(d in dialects for d in provider.dialects)


def capable(chain: Sequence[Candidate], providers: Mapping[str, Provider], dialects: frozenset[str]) -> list[Candidate]:
    """The candidates of ``chain`` on providers that speak one of ``dialects``, in order."""
    return [c for c in chain if runs_on(providers.get(c.provider), dialects)]


def capable_first(chain: Sequence[Candidate], providers: Mapping[str, Provider],
                  dialects: frozenset[str]) -> list[Candidate]:
    """``chain`` with the candidates that run the request's hosted tools first (each group in order)."""
    found = capable(chain, providers, dialects)
    return found + [c for c in chain if c not in found]


def passed_over(chain: Sequence[Candidate], providers: Mapping[str, Provider], tools: Sequence[str]) -> str:
    """The reason noted for candidates that cannot run ``tools``."""
    return (f"passed over (cannot run the hosted tool {', '.join(tools)}): "
            + ", ".join(f"{c.provider}/{c.model} ({_speaks(providers, c)})" for c in chain))


def without(chain: Sequence[Candidate], providers: Mapping[str, Provider], tools: Sequence[str]) -> str:
    """The reason noted for candidates that would take a request without the hosted ``tools`` it offers."""
    return (f"would go without the hosted tool {', '.join(tools)} (offered, not needed): "
            + ", ".join(f"{c.provider}/{c.model} ({_speaks(providers, c)})" for c in chain))


def unsupported(tools: Sequence[str], dialect: str, chain: Sequence[Candidate],
                providers: Mapping[str, Provider], dialects: frozenset[str],
                why_not: Sequence[str] = ()) -> HostedToolUnsupported:
    """The refusal when no candidate can run the hosted tools a request needs (``dialects``: those
    that run them; ``why_not``: why the others do not)."""
    tried = ", ".join(f"{c.provider}/{c.model} speaks {_speaks(providers, c)}" for c in chain[:4])
    native = [p.name for p in providers.values() if runs_on(p, dialects)]
    apis = " or ".join(sorted(dialects - {dialect}))
    return HostedToolUnsupported(
        f"this request needs the hosted tool {', '.join(tools)}, which only a provider speaking the "
        f"{dialect} API{' (or ' + apis + ')' if apis else ''} can run, and routerd will not drop it by "
        "translating the request"
        + (f" ({'; '.join(why_not)})" if why_not else "")
        + (f" ({tried})" if tried else "")
        + (f"; providers that could run it ({', '.join(native)}) do not serve a model it may go to"
           if native else f"; configure one, e.g. [providers.NAME] kind = \"{get(dialect).kind}\""))


def _speaks(providers: Mapping[str, Provider], candidate: Candidate) -> str:
    provider = providers.get(candidate.provider)
    return provider.dialect if provider is not None else "nothing configured"
