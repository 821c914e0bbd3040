"""The routing core's inputs and outputs: what a decision reads and what it decides.

A ``RouteRequest`` carries the canonical conversation (parsed lazily: a proxied request that names
its model never needs it), the model the client asked for, its session, the capabilities it needs
and the client's dialect. A ``RouteDecision`` carries the ordered candidates on configured
providers that dispatch walks, the baseline that savings are counted against, and, when the brain
decided, what it concluded and why.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from routerd.catalogue.models import ModelInfo
from routerd.classify.text import Turn, to_turn
from routerd.classify.types import Classification
from routerd.dialects.base import Dialect
from routerd.dialects.canonical import ChatRequest
from routerd.dialects.registry import get as get_dialect
from routerd.dialects.summary import to_classifier_messages
from routerd.errors import BadRequest
from routerd.policy import Decision, Needs

# Characters per token when estimating a prompt's size for the context-window filter.
CHARS_PER_TOKEN = 4
# A client body bigger than this is read in worker threads (`Conversation.prepare`, the scenario
# step's count and detection, the brain's classification): each message costs ~5 us to read, and
# a few megabytes of short ones held the event loop for half a second (bench/bench_bounds.py).
THREAD_PARSE_BYTES = 262_144
# The same for messages given as such (the socket's `route`, hooks): more than this many.
THREAD_PARSE_MESSAGES = 2_000


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model on a configured provider: what dispatch tries."""

    provider: str
    model: str


class Conversation:
    """Messages in the classifier's form (role and content, as clients send them) and tools. Built
    from messages, or from a client body in its dialect, parsed on first use; a body that does not
    parse reads as an empty conversation (the request itself is refused later, upstream or by
    translation, with the reason)."""

    __slots__ = ("_body", "_dialect", "_messages", "_needs", "_request", "_tools", "_turns")

    def __init__(self, messages: Sequence[Any] = (), tools: Sequence[Any] | None = None) -> None:
        self._messages: Sequence[Any] | None = messages
        self._tools: Sequence[Any] = tools or ()
        self._dialect: Dialect | None = None
        self._body = b""
        self._turns: list[Turn] | None = None
        self._needs: Needs | None = None
        self._request: ChatRequest | None | bool = False  # False: not parsed yet

    @classmethod
    def from_body(cls, dialect: Dialect, body: bytes) -> "Conversation":
        conversation = cls()
        conversation._messages, conversation._dialect, conversation._body = None, dialect, body
        return conversation

    @property
    def body(self) -> bytes:
        """The client's body as it came (empty for messages given as such)."""
        return self._body

    @property
    def messages(self) -> Sequence[Any]:
        if self._messages is None:
            self._parse()
        assert self._messages is not None
        return self._messages

    @property
    def tools(self) -> Sequence[Any]:
        if self._messages is None:
            self._parse()
        return self._tools

    @property
    def turns(self) -> list[Turn]:
        if self._turns is None:
            self._turns = [to_turn(m) for m in self.messages]
        return self._turns

    def last_user_text(self) -> str:
        for turn in reversed(self.turns):
            if turn.role == "user" and turn.text.strip():
                return turn.text
        return ""

    @property
    def big(self) -> bool:
        """Whether the conversation is big enough to be read in a worker thread (a body over
        `THREAD_PARSE_BYTES`, or over `THREAD_PARSE_MESSAGES` messages given as such)."""
        if self._body:
            return len(self._body) > THREAD_PARSE_BYTES
        return len(self._messages or ()) > THREAD_PARSE_MESSAGES

    def prepare(self) -> None:
        """Parse now all that a decision reads of the conversation (the request, the classifier's
        messages, the turns and the needs): for a `big` conversation the router runs this in a worker
        thread, so that a request of many messages does not hold the event loop while they are read."""
        self.request()
        self.needs()

    def needs(self) -> Needs:
        """The capabilities a model must have to take this conversation (read once)."""
        if self._needs is None:
            turns = self.turns
            chars = sum(len(t.text) + t.tool_chars for t in turns)  # tool output fills the context too
            self._needs = Needs(tools=bool(self.tools), vision=any(t.images for t in turns),
                                estimated_tokens=chars // CHARS_PER_TOKEN)
        return self._needs

    def request(self) -> ChatRequest | None:
        """The conversation as a canonical request (parsed once; None when it does not parse).
        Messages given as such (``route``, hooks) are read as an OpenAI chat request."""
        if self._request is False:
            if self._dialect is not None:
                body = self._body
            else:
                body = msgspec.json.encode({"messages": self._messages, "tools": _as_functions(self._tools)})
            try:
                self._request = (self._dialect or get_dialect("openai_chat")).parse_request(body) if body else None
            except (BadRequest, msgspec.ValidationError, TypeError):
                self._request = None
        assert self._request is not True
        return self._request

    def _parse(self) -> None:
        request = self.request()
        self._messages = to_classifier_messages(request) if request is not None else []
        self._tools = [{"name": t.name} for t in request.tools] if request is not None else []


def _as_functions(tools: Sequence[Any]) -> list[Any]:
    """Tools given by name (``{"name": ...}``) in the OpenAI chat shape the request is read in."""
    return [{"type": "function", "function": t} if isinstance(t, dict) and "type" not in t else t for t in tools]


class RouteRequest(msgspec.Struct, frozen=True):
    """What a decision is asked about. ``dialect`` None asks for advice (``route``, hooks, MCP):
    the brain always decides and ``model`` is a preference it honours when usable. With the
    client's dialect the request is proxied: ``model`` is what the client asked for (``auto``
    lets the brain pick; ``gateway.downshift`` lets it pick for a named model too) and the
    decision names candidates on configured providers."""

    conversation: Conversation
    model: str | None = None
    session_id: str | None = None
    dialect: str | None = None
    needs: Needs | None = None      # None: read from the conversation
    source: str = "socket"
    explain: bool = False
    markers: dict[str, str] = {}    # the client's scenario marker headers (``scenarios.markers``)
    hosted_tools: tuple[str, ...] = ()  # server-side tools it offers (``web_search_20250305``, ...)


class Classified(msgspec.Struct, frozen=True):
    """``classify``'s answer: the classification with its tier and confidence read at the active
    profile's ``bar`` (lowered by budget ``pressure``), as ``route`` reads them."""

    classification: Classification
    profile: str
    bar: float
    pressure: float = 0.0


class BrainDecision(msgspec.Struct, frozen=True):
    """What the brain concluded: the classification, the policy's ranked catalogue models with its
    reasons, and the catalogue model it put first (None: no provider, advice only)."""

    classification: Classification
    policy: Decision
    first: ModelInfo | None


class RouteDecision(msgspec.Struct, frozen=True):
    """A stored decision: its id, the candidates to try in order (proxied requests), the baseline
    (what the client asked for; for ``auto`` the priciest model the brain would have accepted, of
    the client's maker first), ``reason`` (``brain`` or ``requested``) and the brain's conclusion
    when it was asked."""

    decision_id: str
    requested: str
    candidates: tuple[Candidate, ...]
    baseline: Candidate | None
    reason: str
    brain: BrainDecision | None = None
    auto: bool = False              # the client asked for automatic routing (``auto`` or an auto name)
    scenario: str | None = None     # the request's scenario (None: detection is off)
    scenario_reasons: tuple[str, ...] = ()  # the evidence, and what the scenario step did
    hosted_tools: tuple[str, ...] = ()  # hosted tools it needs: every candidate speaks one of hosted_dialects
    hosted_dialects: tuple[str, ...] = ()  # the dialects that run them (the client's, or one they translate to)
