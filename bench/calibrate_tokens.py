"""How the Claude and Gemini token factors in routerd/scenarios/tokens.py were measured.

Anthropic and Google publish no local tokenizer, so routerd derives their counts from cl100k. This
script compares, for requests recorded against the real APIs, the input tokens the API reported
with routerd's cl100k count of the same request, and prints the ratio per model family.

The recordings are VCR cassettes from a public test suite (pydantic-ai's ``tests/**/cassettes``,
MIT): each holds the request body and the provider's answer with its ``usage``. Give the folder they
are in (any depth); nothing is downloaded. Only requests whose count is mostly text routerd sees are
used: no tools (providers add hidden tool prompts), no images or documents, no thinking, no
server-side context management (the API counts what it kept), at least
``--min`` cl100k tokens (small requests are dominated by fixed framing).

Usage: .venv/bin/pip install pyyaml && .venv/bin/python bench/calibrate_tokens.py CASSETTE_DIR [--min 200]
Prints a table and writes bench/results/calibrate_tokens.json.
"""

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerd.dialects.registry import get as dialect  # noqa: E402
from routerd.errors import BadRequest  # noqa: E402
from routerd.scenarios.tokens import TokenCounter, family_of  # noqa: E402

anthropic = dialect("anthropic")
gemini = dialect("gemini")
openai_chat = dialect("openai_chat")
responses = dialect("responses")


def reported(uri: str, body: dict, answer: dict) -> tuple[str, int] | None:
    """(dialect, input tokens the API reported) for one recorded call, or None."""
    usage = answer.get("usage") or {}
    if "count_tokens" in uri and "input_tokens" in answer:
        return "anthropic", answer["input_tokens"]
    if "/v1/messages" in uri and usage.get("input_tokens") is not None:
        return "anthropic", sum(usage.get(k) or 0 for k in ("input_tokens", "cache_read_input_tokens",
                                                             "cache_creation_input_tokens"))
    if "chat/completions" in uri and usage.get("prompt_tokens"):
        return "openai", usage["prompt_tokens"]
    if uri.rstrip("/").endswith("/responses") and usage.get("input_tokens"):
        return "responses", usage["input_tokens"]
    meta = answer.get("usageMetadata") or {}
    if ":generateContent" in uri and meta.get("promptTokenCount"):
        return "gemini", meta["promptTokenCount"]
    return None


PARSERS = {"anthropic": anthropic.parse_request, "openai": openai_chat.parse_request,
           "responses": responses.parse_request, "gemini": gemini.parse_request}


def usable(body: dict) -> bool:
    text = json.dumps(body)
    return not (body.get("tools") or body.get("thinking") or body.get("reasoning") or body.get("context_management")
                or any(k in text for k in ('"image', "inlineData", "fileData", '"document"', "input_file")))


def main() -> None:
    import yaml

    folder, minimum = Path(sys.argv[1]), 200
    if "--min" in sys.argv:
        minimum = int(sys.argv[sys.argv.index("--min") + 1])
    counter = TokenCounter()
    ratios: dict[str, list[tuple[float, int, int, str]]] = {}
    for path in sorted(folder.rglob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            continue
        for item in doc.get("interactions") or []:
            body = (item.get("request") or {}).get("parsed_body")
            answer = (item.get("response") or {}).get("parsed_body")
            if not isinstance(body, dict) or not isinstance(answer, dict) or not usable(body):
                continue
            uri = item["request"].get("uri", "")
            found = reported(uri, body, answer)
            if found is None:
                continue
            dialect, real = found
            try:
                request = PARSERS[dialect](body)
            except BadRequest:
                continue
            model = body.get("model") or uri.rsplit("/models/", 1)[-1].split(":")[0]
            count = counter.count(request).base
            family = family_of(dialect if dialect != "responses" else "openai", model)
            row = (real / count, real, count, model)
            if count >= minimum and row not in ratios.setdefault(family, []):  # suites re-record calls
                ratios[family].append(row)
    results = {}
    print(f"{'family':12} {'n':>4} {'median':>7} {'min':>6} {'max':>6}   examples (real / cl100k, model)")
    for family, rows in sorted(ratios.items()):
        values = [r[0] for r in rows]
        results[family] = {"n": len(rows), "median": round(statistics.median(values), 3),
                           "min": round(min(values), 3), "max": round(max(values), 3),
                           "rows": [[round(r, 3), real, count, model] for r, real, count, model in rows]}
        examples = ", ".join(f"{real}/{count} {model}" for _, real, count, model in sorted(rows, key=lambda r: -r[2])[:3])
        print(f"{family:12} {len(rows):>4} {results[family]['median']:>7} {results[family]['min']:>6} "
              f"{results[family]['max']:>6}   {examples}")
    out = ROOT / "bench" / "results" / "calibrate_tokens.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
