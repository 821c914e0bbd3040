"""The daemon's import structure: the layer table in docs/architecture.md holds, no import cycles,
and no import hidden inside a function."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"


def _layers() -> list[list[str]]:
    """The modules of each layer, from the table in docs/architecture.md (layer 0 first)."""
    rows = re.findall(r"^\| (\d+) \| ((?:routerd[\w.]*\s*)+)\|", DOC.read_text(), re.M)
    assert rows, "docs/architecture.md lost its layer table"
    assert [int(n) for n, _ in rows] == list(range(len(rows)))
    return [mods.split() for _, mods in rows]


def _modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / "routerd").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _target(node: ast.ImportFrom | ast.Import) -> list[str]:
    """The routerd modules an import statement loads (``from a import b`` is module a.b when it is one)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return [n for n in names if n == "routerd" or n.startswith("routerd.")]


def _type_only(tree: ast.Module) -> set[int]:
    """The import statements under a module-level ``if TYPE_CHECKING:`` (read by mypy, never run)."""
    return {id(node) for block in tree.body
            if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
            for node in block.body if isinstance(node, (ast.Import, ast.ImportFrom))}


def _package(node: ast.Import | ast.ImportFrom) -> str:
    """The top-level package an import statement loads."""
    name = node.names[0].name if isinstance(node, ast.Import) else node.module or ""
    return name.split(".")[0]


def _imports() -> tuple[dict[str, list[tuple[str, int, bool]]], dict[str, list[tuple[int, str]]]]:
    """Per module: (imported routerd module, line, at module level); and per module, the run-time
    imports inside a function or block: (line, top-level package)."""
    out: dict[str, list[tuple[str, int, bool]]] = {}
    nested: dict[str, list[tuple[int, str]]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        top = {id(node) for node in tree.body} | _type_only(tree)
        found = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found += [(t, node.lineno, id(node) in top) for t in _target(node)]
                if id(node) not in top:
                    nested.setdefault(name, []).append((node.lineno, _package(node)))
        out[name] = found
    return out, nested


# Libraries only some users need, imported where they are first used because an idle daemon that
# never needs them would hold them (bench/bench_gateway.py, idle RSS): prometheus_client at the
# first scrape of /metrics (~2.6 MB with the http.server, wsgiref, ... it imports), tiktoken with
# the cl100k encoding at the first token count (~1.4 MB), urllib.request (with http.client and
# email) only to read NO_PROXY for a proxied provider (~0.9 MB); email.utils only for a Retry-After
# given as an HTTP date (~0.5 MB), zoneinfo only for a configured resilience.timezone (~0.3 MB),
# configparser only to read a git config for a request's project (~0.2 MB): ~0.9 MB of idle RSS
# together (bench/bench_gateway.py --quick); html (with its 2,231-entity tables, ~0.5 MB) only to
# read the title of an HTML error page a proxy or CDN answers with; h11 (~0.4 MB) only to open a
# CONNECT tunnel through an HTTP proxy to an https provider; difflib (~0.2 MB) only to suggest the key
# an unknown one in the config is a typo of. Only the modules named may do it.
FIRST_USE = {"prometheus_client": ("routerd.ledger.metrics", "routerd.ledger.series"),
             "tiktoken": ("routerd.scenarios.tokens",),
             "urllib": ("routerd.providers",),
             "email": ("routerd.gateway.failures",),
             "zoneinfo": ("routerd.resilience.settings", "routerd.resilience.board"),
             "configparser": ("routerd.ledger.project",),
             "html": ("routerd.gateway.attempt",),
             "h11": ("routerd.gateway.transport",),
             "difflib": ("routerd.config_where",)}

# The command line imports the daemon in two steps inside ``main``: first what binding the listeners
# takes (routerd.startup, after routerd.signals holds the signals), then, with them bound, the rest
# (routerd.daemon, anyio), so that a restart's gap lasts only the first step (bench/bench_socket.py
# --only restart). Only routerd.main may do it, and only for these packages.
STAGED = {"routerd.main": ("routerd", "anyio")}

# Imported at module level, in a ``with`` block that skips the package's __init__ (watchfiles' imports
# multiprocessing and pickle for its run_process, which the daemon never uses: routerd.daemon).
INIT_SKIPPED = {"routerd.daemon": ("watchfiles",)}

IMPORTS, NESTED = _imports()


def _layer_of(module: str, layers: list[list[str]]) -> int | None:
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return best[0] if best is not None else None


def test_every_module_has_a_layer():
    """Each routerd module belongs to a layer of the documented table."""
    layers = _layers()
    missing = sorted(m for m in MODULES if m != "routerd" and _layer_of(m, layers) is None)
    assert not missing, f"add these to the layer table in docs/architecture.md: {missing}"


def test_no_upward_imports():
    """A module imports only from its own layer or the ones above it in the table (lower numbers)."""
    layers = _layers()
    upward = []
    for module, found in IMPORTS.items():
        mine = _layer_of(module, layers)
        for target, line, _ in found:
            theirs = _layer_of(target, layers) if target else None
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {module} (layer {mine}) "
                              f"imports {target} (layer {theirs})")
    assert not upward, "\n".join(upward)


# Commands run by hand, not by the daemon, may import their optional dependencies when they need them.
OFFLINE = ("routerd.classify.train",)


def test_no_imports_inside_functions():
    """Every import is at the top of its module (lazy imports belong to routerctl, the shims and the
    offline trainer; type-only imports sit under ``if TYPE_CHECKING:``), except a FIRST_USE library
    in the modules named for it, the command line's two steps (STAGED) and INIT_SKIPPED."""
    nested = [f"{MODULES[m].relative_to(ROOT)}:{line}" for m, found in NESTED.items() for line, package in found
              if not m.startswith(OFFLINE) and m not in FIRST_USE.get(package, ())
              and package not in STAGED.get(m, ()) and package not in INIT_SKIPPED.get(m, ())]
    assert not nested, "imports inside functions or blocks:\n" + "\n".join(nested)


def test_no_import_cycles():
    """The module graph is acyclic (Tarjan's strongly connected components are all single modules)."""
    graph = {m: sorted({t for t, _, _ in found if t in MODULES and t != m}) for m, found in IMPORTS.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checks_see_a_violation():
    """The checks are not vacuous: the layers are populated and the graph has edges both ways
    that the table orders (fronts import handlers; nothing in handlers imports fronts)."""
    layers = _layers()
    assert _layer_of("routerd.fronts.socket", layers) > _layer_of("routerd.handlers.table", layers)
    assert ("routerd.handlers.table", True) in {(t, top) for t, _, top in IMPORTS["routerd.fronts.socket"]}
