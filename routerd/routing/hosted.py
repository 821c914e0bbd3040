"""Hosted tools and the providers that can run them. Pure: the request and the providers in,
verdicts out.

A hosted (server-side) tool runs on the provider's own servers: Anthropic's ``web_search_20250305``,
the Responses API's ``web_search``, Gemini's ``google_search``, chat completions' ``web_search_options``
(a search model's request), code execution and the like. No translation carries one: the dialect
modules drop them, since another dialect's API has no such tool to give it to. A request translated
away from its dialect loses them, and the model answers without them (a web search "answered" from
memory). So a request's hosted tools run only on a provider that speaks the client's dialect.

Which of them a request cannot do without (``needed``): every hosted tool when it offers no function
tool of its own, and one forced by ``tool_choice`` (Claude Code's WebSearch tool sends
``web_search_20250305`` alone, forced). Every candidate of such a request must run them; when none
can, the client is told so (``HostedToolUnsupported``). A hosted tool offered beside function tools
(Codex offers ``web_search`` on every turn) is a capability the model may use: the brain's picks that
can run it go first, and a request may still go where it cannot (the decision's reasons say so).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from routerd.dialects.canonical import ChatRequest
from routerd.dialects.registry import get
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


def read(req: ChatRequest | None, hosted_tools: tuple[str, ...], body: bytes = b"") -> Hosted:
    """The hosted tools of a request (``hosted_tools``: the types its raw ``tools`` held; ``body``:
    the client's, where chat completions' ``web_search_options`` may be). A request that does not
    parse needs all it offers."""
    offered = hosted_tools
    if SEARCH_OPTIONS.encode() in body and (req is None or req.extra.get(SEARCH_OPTIONS) is not None):
        offered += (SEARCH_OPTIONS,)
    if not offered or req is None:
        return Hosted(offered, offered)
    if not req.tools:
        return Hosted(offered, offered)
    choice = req.tool_choice
    functions = {t.name for t in req.tools}
    forced = choice is not None and choice.mode == "tool" and choice.name not in functions
    needed = tuple(k for k in offered if k == SEARCH_OPTIONS or forced)
    return Hosted(offered, needed)


def runs_on(provider: Provider | None, dialect: str) -> bool:
    """Whether ``provider`` can run a ``dialect`` client's hosted tools: it speaks that dialect, so
    the request goes to it as it came."""
    return provider is not None and dialect in provider.dialects


def capable(chain: Sequence[Candidate], providers: Mapping[str, Provider], dialect: str) -> list[Candidate]:
    """The candidates of ``chain`` that run a ``dialect`` client's hosted tools, in order."""
    return [c for c in chain if runs_on(providers.get(c.provider), dialect)]


def capable_first(chain: Sequence[Candidate], providers: Mapping[str, Provider], dialect: str) -> list[Candidate]:
    """``chain`` with the candidates that run the client's hosted tools first (each group in order)."""
    able = capable(chain, providers, dialect)
    return able + [c for c in chain if c not in able]


def passed_over(chain: Sequence[Candidate], providers: Mapping[str, Provider], tools: Sequence[str]) -> str:
    """The reason noted for candidates that cannot run ``tools``."""
    return (f"passed over (cannot run the hosted tool {', '.join(tools)}): "
            + ", ".join(f"{c.provider}/{c.model} ({_speaks(providers, c)})" for c in chain))


def without(chain: Sequence[Candidate], providers: Mapping[str, Provider], tools: Sequence[str]) -> str:
    """The reason noted for candidates that would take a request without the hosted ``tools`` it offers."""
    return (f"would go without the hosted tool {', '.join(tools)} (offered, not needed): "
            + ", ".join(f"{c.provider}/{c.model} ({_speaks(providers, c)})" for c in chain))


def unsupported(tools: Sequence[str], dialect: str, chain: Sequence[Candidate],
                providers: Mapping[str, Provider]) -> HostedToolUnsupported:
    """The refusal when no candidate can run the hosted tools a request needs."""
    tried = ", ".join(f"{c.provider}/{c.model} speaks {_speaks(providers, c)}" for c in chain[:4])
    native = [p.name for p in providers.values() if dialect in p.dialects]
    return HostedToolUnsupported(
        f"this request needs the hosted tool {', '.join(tools)}, which only a provider speaking the "
        f"{dialect} API natively can run, and routerd will not drop it by translating the request"
        + (f" ({tried})" if tried else "")
        + (f"; providers that could run it ({', '.join(native)}) do not serve a model it may go to"
           if native else f"; configure one, e.g. [providers.NAME] kind = \"{get(dialect).kind}\""))


def _speaks(providers: Mapping[str, Provider], candidate: Candidate) -> str:
    provider = providers.get(candidate.provider)
    return provider.dialect if provider is not None else "nothing configured"
