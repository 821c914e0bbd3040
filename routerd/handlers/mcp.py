"""The ``mcp`` request: one JSON-RPC message relayed from a stdio client, answered by
``routerd.integrations.mcp``. A notification's reply carries no message."""

import msgspec

from routerd.integrations.mcp import handle_message
from routerd.protocol import Mcp, McpReply


async def handle_mcp(app, request: Mcp) -> McpReply:
    answer = await handle_message(app, bytes(request.message))
    return McpReply(message=msgspec.Raw(answer) if answer is not None else None)
