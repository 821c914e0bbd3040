"""Claude Code's ``type: "http"`` hooks, served by the daemon: ``POST /hooks/<host>/<event>`` with
the hook's JSON as the body; the answer is the JSON the host would read from a command hook's
stdout (``{}`` when there is nothing to say). No process starts per prompt.

Claude Code treats a non-2xx answer or a timeout as a non-blocking error, so every failure here
fails open by itself; a bad path or payload is a 400 naming the problem.
"""

from routerd.errors import BadRequest
from routerd.integrations.events import parse_event
from routerd.integrations.hooks import Hooks
from routerd.runtime import Runtime

PREFIX = b"/hooks/"
EMPTY = b"{}"


def parse_hook_path(path: bytes) -> tuple[str, str | None]:
    """``/hooks/claude-code/UserPromptSubmit`` -> (``claude-code``, ``UserPromptSubmit``)."""
    parts = path[len(PREFIX):].decode("ascii", "replace").strip("/").split("/")
    if not parts[0] or len(parts) > 2:
        raise BadRequest("hook paths look like /hooks/<host>/<event>")
    return parts[0], (parts[1] if len(parts) == 2 and parts[1] else None)


async def answer_http_hook(hooks: Hooks, runtime: Runtime, path: bytes, body: bytes) -> bytes:
    """The reply body for one HTTP hook request. Raises BadRequest (-> 400)."""
    host, event = parse_hook_path(path)
    outcome = await hooks.run(runtime, parse_event(host, event, body))
    return outcome.stdout.encode() if outcome.stdout else EMPTY
