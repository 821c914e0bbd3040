"""The dispatch table: which handler serves which request type. Types missing here are answered
with a ``not_implemented`` error."""

from routerd.handlers import control, hooks, mcp, usage
from routerd.protocol import (ConfigCheck, Hook, HookMode, Mcp, Ping, Reload, Savings, Status, Stop,
                              Usage)

HANDLERS = {
    Ping: control.handle_ping,
    Status: control.handle_status,
    Stop: control.handle_stop,
    Reload: control.handle_reload,
    ConfigCheck: control.handle_config_check,
    Hook: hooks.handle_hook,
    HookMode: hooks.handle_hook_mode,
    Mcp: mcp.handle_mcp,
    Usage: usage.handle_usage,
    Savings: usage.handle_savings,
}
