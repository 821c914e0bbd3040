"""Tool names across dialects: Codex's namespaced tools as flat names and back."""

from __future__ import annotations


# Codex groups tools in namespaces (``{"type": "namespace", "name": ..., "tools": [functions]}``: its
# sub-agent and MCP tools) and runs a call only when the namespace comes back beside the name. Other
# dialects have no namespaces: there the inner tools are offered flat, named NAMESPACE_MARK +
# namespace + "__" + name (letters, digits, _ and - only, as every dialect allows), and a call to
# such a name becomes a namespaced function_call again on its way back to a Responses client.
NAMESPACE_MARK = "ns__"


def qualified(namespace: str | None, name: str) -> str:
    return f"{NAMESPACE_MARK}{namespace}__{name}" if namespace else name


def split_qualified(name: str) -> tuple[str | None, str]:
    """(namespace, name) of a flat tool name; (None, name) for a tool in no namespace."""
    if name.startswith(NAMESPACE_MARK):
        namespace, sep, inner = name[len(NAMESPACE_MARK):].rpartition("__")
        if sep and namespace and inner:
            return namespace, inner
    return None, name
