"""The ``mcp`` request: one JSON-RPC message relayed from a stdio client, answered by the app's
MCP server. A notification's reply carries no message."""

import msgspec

from routerd.app import App
from routerd.protocol.replies import McpReply
from routerd.protocol.requests import Mcp


async def handle_mcp(app: App, request: Mcp) -> McpReply:
    answer = await app.mcp.handle_message(app.runtime, bytes(request.message))
    return McpReply(message=msgspec.Raw(answer) if answer is not None else None)
