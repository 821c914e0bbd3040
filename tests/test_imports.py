"""Thin clients stay thin: routerctl's cheap commands never import the daemon's machinery."""

import subprocess
import sys

import pytest

HEAVY = ("msgspec", "anyio", "httpx", "apsw", "watchfiles", "routerd.app", "routerd.daemon",
         "routerd.protocol")

PROBE = """
import sys
sys.argv = ["routerctl", *{args!r}]
from routerctl.main import cli
try:
    cli(prog_name="routerctl")
except SystemExit:
    pass
heavy = [m for m in {heavy!r} if m in sys.modules]
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("args", [["--help"], ["status", "--help"], ["ping"], ["classify", "--help"],
                                  ["install", "--help"], ["usage", "--help"], ["service", "--help"]])
def test_routerctl_does_not_import_the_daemon(args, tmp_path):
    """`routerctl --help`, a command's help, and a ping to no daemon load no daemon modules."""
    code = PROBE.format(args=args, heavy=HEAVY)
    env = {"ROUTERD_SOCKET": str(tmp_path / "none.sock"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=60)
    line = [out_line for out_line in out.stdout.splitlines() if out_line.startswith("HEAVY:")][-1]
    assert line == "HEAVY:", f"routerctl {' '.join(args)} imported {line[6:]}"


def test_the_idle_daemon_leaves_first_use_libraries_unloaded():
    """The daemon's modules import neither prometheus_client (loaded at the first scrape of /metrics,
    with the http.server, wsgiref, ... it imports) nor tiktoken (loaded with the cl100k encoding, at
    the first token count), nor email, zoneinfo, configparser, html, h11 or difflib (a Retry-After
    date, a configured time zone, a project's git config, an HTML error page's title, a CONNECT
    tunnel through a proxy, a typo in the config): an idle daemon does not hold them
    (bench/bench_gateway.py, idle RSS)."""
    probe = ("import sys, routerd.main, routerd.startup, routerd.app, routerd.daemon\n"
             "print(sorted(m for m in ('prometheus_client', 'http.server', 'wsgiref', 'tiktoken', 'email',"
             " 'zoneinfo', 'configparser', 'html', 'h11', 'difflib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_the_idle_daemon_leaves_watchfiles_run_unloaded():
    """The daemon takes watchfiles' awatch without the package's __init__, which imports watchfiles.run
    and with it multiprocessing and pickle (0.9 MB of idle RSS); a later ``import watchfiles`` still
    gets the whole package."""
    probe = ("import sys, routerd.main, routerd.startup, routerd.app, routerd.daemon\n"
             "print(sorted(m for m in ('watchfiles', 'watchfiles.run', 'multiprocessing', 'pickle') if m in sys.modules))\n"
             "import watchfiles\n"
             "print(callable(watchfiles.awatch), callable(watchfiles.run_process), 'multiprocessing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.splitlines() == ["[]", "True True True"]


def test_binding_the_listeners_imports_neither_the_dialects_nor_the_runtime():
    """What the daemon imports before its listeners bind (a restart's gap, bench/bench_socket.py
    --only restart) holds the config and the listeners, not the dialects or the runtime built after."""
    probe = ("import sys, routerd.main, routerd.startup\n"
             "print(sorted(m for m in ('routerd.dialects.registry', 'routerd.runtime', 'routerd.providers')"
             " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_package_init_files_are_empty():
    """Package __init__ files stay empty so that importing one module never drags in others."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    inits = [p for pkg in ("routerd", "routerctl") for p in (root / pkg).rglob("__init__.py")]
    assert inits and all(p.read_text().strip() == "" for p in inits), \
        [str(p) for p in inits if p.read_text().strip()]


def test_pools_for_ascii_hosts_leave_the_idna_codec_unloaded():
    """Routes to providers with ASCII host names (every pool the daemon opens at start) do not load
    the idna codec and the unicodedata tables under it; a non-ASCII name still goes out as punycode."""
    probe = ("import sys\nfrom routerd.gateway.transport import route_for\n"
             "routes = [route_for(u, None, None) for u in ('https://api.example.com/v1', 'http://127.0.0.1:8080/v1',"
             " 'http://[::1]:9/v1')]\n"
             "print([r.authority for r in routes], 'encodings.idna' in sys.modules)\n"
             "print(route_for('https://b\\u00fccher.example/v1', None, None).authority)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.splitlines() == ["[b'api.example.com', b'127.0.0.1:8080', b'[::1]:9'] False",
                                       "b'xn--bcher-kva.example'"]
