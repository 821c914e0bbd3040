"""The dispatch table: which handler serves which request type. Types missing here are answered
with a ``not_implemented`` error."""

from routerd.handlers import control, hooks
from routerd.protocol import ConfigCheck, Hook, HookMode, Ping, Reload, Status, Stop

HANDLERS = {
    Ping: control.handle_ping,
    Status: control.handle_status,
    Stop: control.handle_stop,
    Reload: control.handle_reload,
    ConfigCheck: control.handle_config_check,
    Hook: hooks.handle_hook,
    HookMode: hooks.handle_hook_mode,
}
