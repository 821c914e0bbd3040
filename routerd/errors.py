"""routerd's one exception tree. Every class has a stable ``code`` that clients may depend on.

    RouterdError                      code            retryable
    ├── BadRequest                    bad_request
    │   ├── FrameError                bad_frame
    │   ├── UnknownRequest            unknown_type
    │   ├── UnsupportedVersion        unsupported_version
    │   ├── NotFound                  not_found
    │   │   └── UnknownModel          model_not_found
    │   ├── UnsupportedMediaType      unsupported_media_type
    │   ├── ContextTooLong            context_length_exceeded
    │   └── HostedToolUnsupported     hosted_tool_unsupported
    ├── Unauthorized                  unauthorized
    ├── Forbidden                     forbidden
    ├── ConfigError                   config_invalid
    ├── NotImplementedYet             not_implemented
    ├── NoRoute                       no_route
    ├── BudgetExceeded                budget_exceeded
    ├── ShuttingDown                  shutting_down    yes
    ├── Overloaded                    overloaded       yes
    ├── BrainUnavailable              brain_unavailable yes (no when its model file is broken)
    └── UpstreamError                 upstream_error   yes
        ├── UpstreamTimeout           upstream_timeout yes
        ├── UpstreamRateLimited       rate_limited     yes
        ├── UpstreamUnavailable       upstream_unavailable yes
        ├── UpstreamRejected          upstream_rejected (a 4xx other than 429)
        └── UpstreamBadResponse       upstream_bad_response yes

Foreign exceptions are mapped where they enter (``raise UpstreamTimeout(...) from exc``). Only a front
turns an exception into an error reply, and none of them catches cancellation. Messages must never
contain secrets: providers' keys are scrubbed before a message is built.
"""


class RouterdError(Exception):
    code = "internal"
    retryable = False
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(RouterdError):
    code = "bad_request"
    http_status = 400


class FrameError(BadRequest):
    code = "bad_frame"


class UnknownRequest(BadRequest):
    code = "unknown_type"


class NotFound(BadRequest):
    code = "not_found"
    http_status = 404


class ContextTooLong(BadRequest):
    """The request does not fit the context window of any model it may go to. The code is
    OpenAI's for the same refusal, and the message starts as Anthropic's does ("prompt is too
    long"): clients react to those (Claude Code compacts the conversation)."""

    code = "context_length_exceeded"


class HostedToolUnsupported(BadRequest):
    """The request needs a hosted (server-side) tool, such as Anthropic's web search, that no
    candidate can run: only a provider speaking the client's dialect can, and a translation would
    drop the tool (``routerd.routing.hosted``)."""

    code = "hosted_tool_unsupported"


class UnknownModel(NotFound):
    """A model no configured provider serves (the message names those that are)."""

    code = "model_not_found"


class UnsupportedMediaType(BadRequest):
    code = "unsupported_media_type"
    http_status = 415


class Unauthorized(RouterdError):
    code = "unauthorized"
    http_status = 401


class Forbidden(RouterdError):
    code = "forbidden"
    http_status = 403


class ConfigError(RouterdError):
    """``key``: the key path the message starts with (``("limits", "0")``), when the problem was
    found after decoding; whoever holds the file's text adds its line (``ConfigText.locate``)."""

    code = "config_invalid"
    http_status = 400

    def __init__(self, message: str, key: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.key = key


class NotImplementedYet(RouterdError):
    code = "not_implemented"
    http_status = 501


class NoRoute(RouterdError):
    code = "no_route"
    http_status = 503
    retry_after_s: float | None = None   # when a provider will be back (all cooling down)


class BudgetExceeded(RouterdError):
    code = "budget_exceeded"
    http_status = 402


class ShuttingDown(RouterdError):
    """routerd is draining before it stops: answered at once (HTTP: 503 with a Retry-After)."""

    code = "shutting_down"
    retryable = True
    http_status = 503
    retry_after_s: float | None = None


class Overloaded(RouterdError):
    """routerd is at its in-flight bound: answered at once with 429 and a Retry-After."""

    code = "overloaded"
    retryable = True
    http_status = 429
    retry_after_s: float | None = None


class BrainUnavailable(RouterdError):
    """The classifier is not loaded: still loading after ``routerd.routing.brain.BRAIN_WAIT_S``
    (retryable), or its model file could not be read (not retryable: the message says why)."""

    code = "brain_unavailable"
    retryable = True
    http_status = 503

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class UpstreamError(RouterdError):
    code = "upstream_error"
    retryable = True
    http_status = 502

    def __init__(self, message: str, *, status: int | None = None, body: bytes = b"",
                 headers: tuple[tuple[str, str], ...] = (), retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.headers = headers
        self.retry_after_s = retry_after_s


class UpstreamTimeout(UpstreamError):
    code = "upstream_timeout"
    http_status = 504


class UpstreamRateLimited(UpstreamError):
    code = "rate_limited"
    http_status = 429


class UpstreamUnavailable(UpstreamError):
    code = "upstream_unavailable"


class UpstreamRejected(UpstreamError):
    code = "upstream_rejected"
    retryable = False


class UpstreamBadResponse(UpstreamError):
    code = "upstream_bad_response"


class UnsupportedVersion(BadRequest):
    code = "unsupported_version"
