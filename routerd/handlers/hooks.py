"""Hook requests from the shims (``hook``) and ``hook_mode`` (``routerctl mode``), handed to the
app's ``Hooks`` part."""

from collections.abc import AsyncGenerator

from routerd.app import App
from routerd.integrations.events import HookEvent, parse_event
from routerd.integrations.render import HookOutcome
from routerd.protocol.replies import HookModeReply, HookReply
from routerd.protocol.requests import Hook, HookMode
from routerd.runtime import Runtime


async def handle_hook_mode(app: App, request: HookMode) -> HookModeReply:
    return HookModeReply(kind="hook_mode", data=await app.hooks.set_mode(app.runtime, request.mode))


async def handle_hook(app: App, request: Hook) -> HookReply | AsyncGenerator[HookReply, None]:
    """Answer a shim. A zero_claude answer takes seconds, so the shim first gets a non-final reply
    telling it to wait past its fail-open budget."""
    runtime = app.runtime
    event = parse_event(request.host, request.event, bytes(request.payload))
    if app.hooks.holds(runtime, event):
        return _held(app, runtime, event)
    return _reply(await app.hooks.run(runtime, event))


async def _held(app: App, runtime: Runtime, event: HookEvent) -> AsyncGenerator[HookReply, None]:
    yield HookReply(final=False)
    yield _reply(await app.hooks.run(runtime, event))


def _reply(outcome: HookOutcome) -> HookReply:
    return HookReply(stdout=outcome.stdout, stderr=outcome.stderr, exit_code=outcome.exit_code)
