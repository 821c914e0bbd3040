"""routerd's MCP server: JSON-RPC messages in, JSON-RPC messages out, one message at a time.

The stdio relay (``hooks/mcp_relay.py``) forwards each line it reads to the daemon as an ``mcp``
request; this module answers it. Two protocol eras are served:

- 2025-11-25 and older: the ``initialize`` handshake negotiates a version once per connection
  (a version we do not know is answered with our latest, as the spec says), then ``notifications/
  initialized``; ``ping`` works.
- 2026-07-28: stateless; every request carries ``_meta["io.modelcontextprotocol/protocolVersion"]``
  (and the client's capabilities); ``server/discover`` advertises versions and capabilities; an
  unknown version is refused with -32022 naming those we serve; results carry ``resultType`` and the
  server's identity in ``_meta``, and list results carry caching hints.

Tools live in ``routerd.integrations.mcp_tools``; a tool's failure is a result with ``isError``, not
a JSON-RPC error, so that the model sees it. Notifications get no reply (None). This is MCP's front:
``McpServer.handle_message`` is the one place where an exception becomes an MCP answer.
"""

from typing import Any

import msgspec

from routerd.errors import RouterdError
from routerd.integrations import mcp_tools
from routerd.runtime import Runtime
from routerd.version import VERSION

HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS = ("2026-07-28",)
LATEST_HANDSHAKE = HANDSHAKE_VERSIONS[-1]
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
SERVER_INFO = {"name": "routerd", "title": "routerd LLM router", "version": VERSION}
INSTRUCTIONS = ("routerd picks the cheapest model that will do each task well. Call `route` to get a "
                "recommendation, `ask` to have a routed model answer, `rate`/`reroute` to correct it.")
CAPABILITIES = {"tools": {"listChanged": False}, "resources": {"listChanged": False}}

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
UNSUPPORTED_VERSION = -32022
_LIST_METHODS = frozenset({"tools/list", "resources/list", "resources/templates/list", "prompts/list"})


class McpError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def _encode(value: dict[str, Any]) -> bytes:
    return msgspec.json.encode(value)


def _error(msg_id: Any, code: int, message: str, data: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return _encode({"jsonrpc": "2.0", "id": msg_id, "error": error})


class McpServer:
    def __init__(self, tools: mcp_tools.Tools) -> None:
        self.tools = tools

    async def handle_message(self, runtime: Runtime, raw: bytes) -> bytes | None:
        """Answer one JSON-RPC message; None for notifications and stray responses."""
        try:
            message = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            return _error(None, PARSE_ERROR, f"parse error: {exc}")
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _error(None, INVALID_REQUEST, "expected one JSON-RPC 2.0 object (batches are not supported)")
        method, msg_id = message.get("method"), message.get("id")
        if not isinstance(method, str) or "id" not in message:
            return None  # a notification, or a response to a request we never send
        params = message.get("params") or {}
        if not isinstance(params, dict):
            return _error(msg_id, INVALID_PARAMS, "params must be an object")
        meta = params.get("_meta")
        version = meta.get(VERSION_KEY) if isinstance(meta, dict) else None
        try:
            if version is not None and version not in MODERN_VERSIONS:
                raise McpError(UNSUPPORTED_VERSION, f"protocol version {version!r} is not supported",
                               {"supported": [*HANDSHAKE_VERSIONS, *MODERN_VERSIONS], "requested": version})
            result = await self._dispatch(runtime, method, params)
        except McpError as exc:
            return _error(msg_id, exc.code, exc.message, exc.data)
        except RouterdError as exc:  # a tool's failure: a result the model reads, not a protocol error
            result = tool_error(f"{params.get('name')}: {exc.code}: {exc.message}")
        if version is not None or method == "server/discover":
            result = {**result, "resultType": "complete", "_meta": {SERVER_INFO_KEY: SERVER_INFO}}
            if method in _LIST_METHODS:
                result.update(ttlMs=0, cacheScope="private")
        return _encode({"jsonrpc": "2.0", "id": msg_id, "result": result})

    async def _dispatch(self, runtime: Runtime, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            requested = params.get("protocolVersion")
            return {"protocolVersion": requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE,
                    "capabilities": CAPABILITIES, "serverInfo": SERVER_INFO, "instructions": INSTRUCTIONS}
        if method == "server/discover":
            return {"supportedVersions": [*HANDSHAKE_VERSIONS, *MODERN_VERSIONS],
                    "capabilities": CAPABILITIES, "serverInfo": SERVER_INFO, "instructions": INSTRUCTIONS,
                    "ttlMs": 0, "cacheScope": "private"}
        if method in ("ping", "logging/setLevel"):
            return {}
        if method == "tools/list":
            return {"tools": mcp_tools.TOOLS}
        if method == "tools/call":
            name, arguments = params.get("name"), params.get("arguments") or {}
            if not isinstance(name, str) or not isinstance(arguments, dict):
                raise McpError(INVALID_PARAMS, "tools/call needs a tool name and an arguments object")
            if name not in mcp_tools.SPECS:
                raise McpError(INVALID_PARAMS, f"unknown tool {name!r}")
            return await mcp_tools.call_tool(self.tools, runtime, name, arguments)
        if method == "resources/list":
            return {"resources": mcp_tools.RESOURCES}
        if method == "resources/templates/list":
            return {"resourceTemplates": []}
        if method == "prompts/list":
            return {"prompts": []}
        if method == "resources/read":
            uri = params.get("uri")
            if uri != mcp_tools.STATUS_URI:
                raise McpError(-32002, f"resource not found: {uri!r}", {"uri": uri})
            return await mcp_tools.read_status(self.tools)
        raise McpError(METHOD_NOT_FOUND, f"method not found: {method}")


def tool_error(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}
