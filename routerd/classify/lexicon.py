"""The cues the classifier looks for, built once at import.

Each cue is a family of words that marks a general property of a request — a hard domain, a
small artifact, a comparison, a time-sensitive fact — never a phrase copied from one labelled case.
Cues match against a `View` of the ask (its lowercased text and its set of words) by set lookup,
prefix test and substring search: one tokenising pass per ask, because a large regex alternation
with `re.I` costs milliseconds on a few kilobytes. English cues are backed by a few French,
Spanish, German and Chinese words where a non-English prompt would otherwise lose its strongest cue.
"""

from __future__ import annotations

import re
from itertools import filterfalse
from operator import itemgetter

import msgspec

# Punctuation becomes a space before splitting into words; `+ # ' - _ .` stay inside words so that
# "c++", "c#", "x86-64", "what's", "thread_pool" and "asyncio.gather" survive (a dotted name is
# code, not the English words in it; a sentence's final dot is stripped from the word set). str.translate + split is ~3x faster
# than a tokenising regex.
_PUNCT = "!\"$%&()*,/:;<=>?@[\\]^`{|}~“”‘«»„，。？！：；（）、…—–"
_TO_SPACE = str.maketrans({**{ch: " " for ch in _PUNCT}, "’": "'"})
# The same table for ASCII text, applied to bytes: str.translate looks each character up in a dict.
_ASCII_PUNCT = "".join(ch for ch in _PUNCT if ch.isascii()).encode()
_ASCII_TO_SPACE = bytes.maketrans(_ASCII_PUNCT, b" " * len(_ASCII_PUNCT))
# Long asks are read at the head and the tail: the request sentences sit there, and every count
# the scorer takes from the middle (size, constraints) saturates well before this many characters.
_INLINE_CODE = re.compile(r"`[^`\n]{1,200}`")
SCAN_HEAD_CHARS = 1000
SCAN_TAIL_CHARS = 300


_BREADTH = re.compile(
    r"(\d{1,5})(?:k)?[\s-]*(?:\+\s*)?(?:more\b|(?:\w+ )?(?:files?|services?|repos?|repositor(?:y|ies)|tables?|"
    r"modules?|endpoints?|microservices?|packages?|teams?|engineers?|loc|lines|pipelines?|projects?|"
    r"clusters?|databases?|apps|applications|components?|places|call sites|callers|usages)\b)"
)


_WORDS_ASKED = re.compile(r"(\d{3,5})[\s-]*words?\b")


# Clauses end at sentence punctuation, or at a comma before a new verb phrase. Written to open with
# one character class (a comma or a run of sentence punctuation) rather than as two alternatives,
# so that the regex engine skips to candidate characters in C: 3x faster, same splits.
_CLAUSE_SPLIT = re.compile(r"[,.:!?;\n](?:(?<=,)\s+(?=(?:and |then |also )?\w+ )|(?<!,)[.:!?;\n]*\s*)")
MAX_CLAUSES = 12
# Requests open their sentence; a verb deep inside a long description is not the ask.
CLAUSE_SCAN_CHARS = 320


class View(msgspec.Struct, frozen=True):
    """The ask as the cues see it: lowercased text (head and tail of long asks) and its words."""

    lower: str
    words: frozenset[str]
    tokens: tuple[str, ...]
    heads: tuple[tuple[int, str], ...] = ()  # (offset, first word after fillers) of each opening clause
    ascii: bool = True  # no CJK or accented phrase can match an ASCII text
    numbers: int = 0  # how many of `words` start with a digit ("40", "x86" does not, "3-way" does)


_FIRST = itemgetter(0)
_GATE_WORD = re.compile(r"[a-z0-9']+")
_CJK_CLASS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_SCRIPT_BOUNDARY = re.compile(rf"(?<=[a-z0-9])(?=[{_CJK_CLASS}])|(?<=[{_CJK_CLASS}])(?=[a-z0-9])")


def view_of(text: str) -> View:
    """Build the `View` of `text` once; every cue then matches against it."""
    if len(text) > SCAN_HEAD_CHARS + SCAN_TAIL_CHARS:
        text = text[:SCAN_HEAD_CHARS] + "\n" + text[-SCAN_TAIL_CHARS:]
    if "`" in text:
        # Inline code is an object of the request, not words of it: `latest` is a tag, not a date.
        text = _INLINE_CODE.sub(" inlinecode ", text)
    low = text.lower()
    if "vs code" in low:
        low = low.replace("vs code", "vscode")  # the editor, not a comparison
    if low.isascii():
        tokens = tuple(low.encode().translate(_ASCII_TO_SPACE).decode().split())
    else:
        # CJK text has no spaces: "typescriptで" must still yield the word "typescript".
        low = _SCRIPT_BOUNDARY.sub(" ", low)
        tokens = tuple(low.translate(_TO_SPACE).split())
    words = set(tokens)
    extra = []
    # filterfalse runs the isalnum test in C: most words are plain and never reach the loop body.
    for word in filterfalse(str.isalnum, words):
        if "-" in word or "'" in word or "." in word:
            stripped = word.strip("'-.")
            extra.append(stripped)
            if "-" in stripped:
                # Parts of hyphenated words are words too: "leader-election" opens "leader ..." phrases.
                extra.extend(stripped.split("-"))
    words.update(extra)
    words.discard("")
    # map/map/sum: the digit test runs in C, not in a Python loop over a few hundred words.
    numbers = sum(map(str.isdigit, map(_FIRST, words)))
    # Phrases match with hyphens read as spaces: "leader-election" is "leader election".
    lower = low.replace("’", "'").replace("-", " ")
    return View(lower, frozenset(words), tokens, _clause_heads(lower), lower.isascii(), numbers)


def _clause_heads(lower: str) -> tuple[tuple[int, str], ...]:
    """Each opening clause's first word after fillers ("quick one: can you *make* ..."), with its offset.

    Only these words can be the verb of a request, so "which port is this" asks nothing of porting.
    A quoted word is named, not asked for, and ends its clause's search.
    """
    heads = []
    offset = 0
    for clause in _CLAUSE_SPLIT.split(lower[:CLAUSE_SCAN_CHARS], maxsplit=MAX_CLAUSES):
        for token in clause.split():
            if token[0] in "'\"`":
                break
            token = token.strip("*")
            if token and token not in FILLERS:
                heads.append((offset, token))
                break
        offset += len(clause) + 1
    return tuple(heads)


def requested_words(view: View) -> int:
    """The length of writing asked for ("~1500 words"), or 0."""
    if "word" not in view.lower:
        return 0
    found = [int(m.group(1)) for m in _WORDS_ASKED.finditer(view.lower)]
    return max(found, default=0)


def breadth(view: View) -> int:
    """The largest count of units of work named in the ask ("~40 files", "11 more", "300 tables")."""
    best = 0
    if not view.numbers:
        return 0
    for match in _BREADTH.finditer(view.lower):
        best = max(best, int(match.group(1)))
    return best


class Cue(msgspec.Struct, frozen=True):
    """A family of words: whole words, word prefixes and multi-word phrases (substrings).

    Phrases whose first word is plain ASCII are gated on that word being in the view, so a cue
    with twenty phrases costs one set test when none of them can be present. `find` stops at the
    first member it meets: it is called ~25 times per ask, and only ever asked whether one exists.
    """

    name: str
    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    gated: dict[str, tuple[str, ...]] = {}
    gates: frozenset[str] = frozenset()  # the keys of `gated`, as a set to test views against
    ungated: tuple[str, ...] = ()
    ungated_non_ascii: tuple[str, ...] = ()
    # Each prefix as it reads in `View.lower`; a word can start with a prefix only if this occurs there.
    prefix_probes: tuple[str, ...] = ()

    def _phrases(self, view: View) -> list[str]:
        lower = view.lower
        found = [p for p in self.ungated if p in lower] if self.ungated else []
        if self.ungated_non_ascii and not view.ascii:
            found.extend(p for p in self.ungated_non_ascii if p in lower)
        if not self.gates.isdisjoint(view.words):
            for first in self.gates & view.words:
                found.extend(p for p in self.gated[first] if p in lower)
        return found

    def _prefixed(self, view: View) -> list[str]:
        """The view's words that start with one of the prefixes."""
        if not any(probe in view.lower for probe in self.prefix_probes):
            return []
        return [word for word in view.words if word.startswith(self.prefixes)]

    def find(self, view: View) -> str | None:
        """A member present in `view`, or None."""
        if not self.words.isdisjoint(view.words):
            return min(self.words & view.words)
        if self.prefixes:
            prefixed = self._prefixed(view)
            if prefixed:
                return prefixed[0]
        lower = view.lower
        for phrase in self.ungated:
            if phrase in lower:
                return phrase
        if self.ungated_non_ascii and not view.ascii:
            for phrase in self.ungated_non_ascii:
                if phrase in lower:
                    return phrase
        if not self.gates.isdisjoint(view.words):
            for first in self.gates & view.words:
                for phrase in self.gated[first]:
                    if phrase in lower:
                        return phrase
        return None

    def count(self, view: View) -> int:
        """How many distinct members are present (phrases count once each)."""
        n = len(self.words & view.words)
        if self.prefixes:
            n += len(self._prefixed(view))
        return n + len(self._phrases(view))

    def position(self, view: View) -> int:
        """Character offset of the earliest member in `view.lower`, or -1."""
        best = -1
        members = [w.replace("-", " ") for w in self.words & view.words]
        if self.prefixes:
            members.extend(w.replace("-", " ") for w in self._prefixed(view))
        members.extend(self._phrases(view))
        for member in members:
            at = _word_at(view.lower, member)
            if at >= 0 and (best < 0 or at < best):
                best = at
        return best


def _word_at(lower: str, member: str) -> int:
    start = 0
    while True:
        at = lower.find(member, start)
        if at <= 0 or not lower[at - 1].isalnum():
            return at
        start = at + 1


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _normalised(cue: Cue) -> Cue:
    # Views read hyphens as spaces, so phrases are stored the same way, and gated on their first word.
    phrases = tuple(p.replace("-", " ") for p in cue.phrases)
    gated: dict[str, list[str]] = {}
    ungated: list[str] = []
    for phrase in phrases:
        first = phrase.split()[0] if phrase.strip() else ""
        if phrase[:1].isalnum() and first.isascii() and _GATE_WORD.fullmatch(first):
            gated.setdefault(first, []).append(phrase)
        else:
            ungated.append(phrase)
    return msgspec.structs.replace(
        cue, phrases=phrases, gated={k: tuple(v) for k, v in gated.items()}, gates=frozenset(gated),
        prefix_probes=tuple(p.replace("-", " ").replace("’", "'") for p in cue.prefixes),
        ungated=tuple(p for p in ungated if p.isascii()),
        ungated_non_ascii=tuple(p for p in ungated if not p.isascii()),
    )


# --- hard domains: each distinct domain present raises the difficulty score ----------------------
DOMAINS: tuple[Cue, ...] = (
    Cue("distributed",
        _w("distributed consensus raft paxos crdt crdts quorum shard shards sharded sharding cross-shard "
           "replica replicas replication replicated failover partitioned partitions linearizable "
           "linearizability 2pc multi-region byzantine gossip cqrs saga sagas rebalance rebalancing outbox "
           "lease leases leader leaders fencing etcd zookeeper last-writer-wins lww converges"),
        phrases=("split brain", "split-brain", "leader election", "exactly-once", "exactly once",
                 "two-phase commit", "horizontally scal", "horizontal scal", "clock skew", "clock jump",
                 "clock drift", "eventual consisten", "eventually consisten", "event sourcing",
                 "event sourced", "consistency guarantee", "consumer group", "at least once", "global tables",
                 "write conflict", "conflicting writes", "clocks drift",
                 "intermittent connectivity")),
    Cue("concurrency",
        _w("concurrent concurrently concurrency race races atomics atomic deadlock deadlocks deadlocked "
           "deadlocking livelock latch latches mutex mutexes semaphore semaphores multithreaded "
           "thread-safe multi-threaded pinned pinning starvation contention lock-free wait-free "
           "volatile multiprocessing happens-before jmm goroutines"),
        phrases=("race condition", "data race", "memory order", "memory model", "memory barrier",
                 "weak memory", "gc pause", "double checked locking", "at the same time", "simultaneously",
                 "write skew", "lost update", "isolation level", "snapshot isolation", "phantom read",
                 "并发", "nebenläufig", "concurrente")),
    Cue("systems",
        _w("jit compiler compilers bytecode interpreter kernel kernels gpu gpus cuda simd tensor assembly "
           "x86 x86-64 arm64 aarch64 graviton mmap syscall syscalls allocator ffi pyo3 numerically "
           "bit-for-bit floating-point vectorize vectorized segfault segfaults use-after-free "
           "epoll kqueue io_uring fsync write-ahead wal durability typechecker bf16 fp16 fp8 ebpf xdp "
           "userspace"),
        phrases=("machine code", "garbage collector", "floating point", "bit for bit", "segmentation fault",
                 "core dump", "undefined behavior", "undefined behaviour", "memory corruption",
                 "crash recovery", "torn write", "power loss", "type checker", "event loop",
                 "mixed precision", "loss spike", "grad norm", "exploding gradient")),
    Cue("security",
        _w("attack attacks attacker attackers vulnerability vulnerabilities vulnerable exploit exploits "
           "exploitable ransomware phishing attestation mtls handshake pentest hardening cryptographic "
           "cryptography malware forensics encryption encrypted kms "
           "secure insecure securely csrf xsrf xss injection httponly jwt jwts hmac replay nonce spoofing "
           "forgery forged tampering harden security-wise encrypt decrypt decryption ciphertext plaintext "
           "secrets"),
        phrases=("threat model", "incident-response", "incident response", "privilege escalation",
                 "zero trust", "side channel", "side-channel", "key rotation", "rotate the master key",
                 "envelope encrypt", "access token", "refresh token", "session fixation", "timing attack",
                 "constant time")),
    Cue("proof",
        _w("prove proof proofs theorem lemma conjecture hypothesis olympiad invariant invariants coq "
           "isabelle tla+ converge convergence verified machine-checked"),
        phrases=("formally verif", "formal verif", "démontrer", "beweise")),
    Cue("math",
        _w("divides divisible primes modulo modular polynomials zeta riemann manifold manifolds topology "
           "homology eigenvalues asymptotic asymptotically combinatorial stochastic"),
        phrases=("perfect square", "explicit formula", "closed form", "o(")),
    Cue("evidence",
        _w("evidence studies literature peer-reviewed citations papers changelog scenarios"),
        phrases=("meta-analys", "cite the source", "cite sources", "grant proposal")),
    Cue("legal",
        _w("regulatory regulation regulations compliance gdpr hipaa ccpa jurisdiction jurisdictions sanctions "
           "liability lawful biometric dpa cross-border law laws legal legally"),
        phrases=("export control", "dual use", "data residency", "data protection", "personal data",
                 "disguised employment", "permanent establishment")),
    Cue("scale",
        _w("codebase monolith microservices legacy"),
        phrases=("across all", "across every", "across our", "across the codebase", "all the services",
                 "all our services", "entire codebase", "entire repo", "public api", "backward compat",
                 "backwards compat", " more services", " files in ", "more repos")),
    Cue("perf",
        _w("p95 p99 p999 throughput regression profiler profiling occupancy latency speedup oom ooms "
           "oomkilled leak leaks leaking slower slowdown faster"),
        phrases=("tail latency", "tail-latency", "under load", "production load")),
)

# Words that make a plan or design out of a request; weak alone, strong with a hard domain.
DESIGN = Cue("design",
             _w("design architecture architect strategy tradeoffs trade-offs trade-off plan roadmap "
                "scalable scale correctness correct correctly guarantee guarantees safe safely preserve "
                "careful precisely verify lose loses lost anomaly anomalies weakness weaknesses"),
             phrases=("without losing", "without breaking", "without changing", "without weakening",
                      "without downtime", "zero downtime", "no downtime", "incrementally",
                      "edge case", "in what order", "minimal correct", "what can go wrong"))

# --- shapes of small, closed requests -------------------------------------------------------------
DEFINITION = re.compile(
    r"\s*(?:(?:so|and|ok|hey|hi)[, ]+)?(?:"
    r"what(?:'s|s| is| are| does| do)\b(?! (?:happening|going on|wrong|the best way|you|i should|we should))"
    r"|(?:is|are|does|do|can) (?:a |an |the )?[\w.`'()-]+(?: [\w.`'()-]+){0,5}\??\s*$"
    r"|how (?:do|can) (?:i|you) [\w.`'-]+(?: [\w.`'-]+){0,6}\??\s*$"
    r"|who (?:is|was|won|wrote|invented)|when (?:is|was|did)|where (?:is|are|do)"
    r"|define\b|meaning of"
    r"|quelle? (?:est|sont)|qu'est-ce|c'est quoi|qu[ée] (?:es|significa)|¿\s*qu[ée] (?:es|significa)|cu[áa]l|"
    r"was (?:ist|bedeutet)|wie (?:kann|funktioniert)"
    r")",
    re.I,
)
DEFINITION_CJK = Cue("cjk_question", phrases=("什么", "什麼", "是否", "吗", "嗎", "怎么", "如何", "とは", "ですか", "무엇"))
SMALL_ARTIFACT = Cue(
    "small_artifact",
    _w("regex regexes regexp one-liner oneliner jq sed awk alias translate reword rephrase rename haiku "
       "limerick poem tweet slogan tagline typo typos spelling grammar shorter emoji emojis hashtag hashtags "
       "title"),
    phrases=("bash:", "shell command", "cron expression", "convert to", "convert this to", "one sentence", "more concise",
             "two sentences", "three sentences", "3 sentences", "2 sentences", "more casual", "more formal",
             "more polite", "title for", "subject line", "commit message"),
)
LOOKUP_ASK = Cue(
    "lookup",
    _w("which"),
    phrases=("how many", "whats the error", "what's the error", "what is the error", "where is", "where's",
             "is it something", "what's the port", "what is the port", "what's the value", "what's the name"),
)

# --- shapes of medium requests --------------------------------------------------------------------
COMPARE = Cue(
    "comparison",
    _w("compare comparison vs versus tradeoffs trade-offs trade-off downside downsides drawback drawbacks "
       "alternatives"),
    phrases=("pros and cons", "which would you", "which should", "what would you pick", "should i use",
             "should i store", "should i pick", "should i go with",
             "what would you choose", "should we"),
)
TESTS = Cue(
    "tests",
    _w("test tests unit-tests property-based fast-check playwright benchmark unitaires pruebas"),
    prefixes=("pytest", "jest", "unittest", "tests"),
    phrases=("test suite", "单元测试", "测试", "テスト", "tests jest"),
)
WHY = Cue(
    "why",
    _w("why pourquoi warum"),
    phrases=("what's going on", "whats going on", "what is going on", "what's happening", "what's wrong",
             "how come", "root cause", "what would you change", "what should i do", "is this going to",
             "going on",
             "is that going to", "ever", "what happens", "what if", "what would change", "为什么"),
)

# --- task-type cues -------------------------------------------------------------------------------
RESEARCH = Cue(
    "research",
    _w("research gather cite survey"),
    phrases=("look up", "dig through", "dig into", "find the open", "find open", "find papers", "find sources",
             "find studies", "find articles", "find recent", "find all the", "current evidence",
             "the sources", "release notes", "status page"),
)
TIME_SENSITIVE = Cue(
    "time_sensitive",
    _w("latest currently recent recently news today tonight yesterday"),
    phrases=("right now", "this year", "this week", "this month", "as of", " down right now", " down?"),
)
SYMPTOM = Cue(
    "symptom",
    _w("fail fails failing failed broke breaks broken crash crashes crashed died dies hang hangs hanging "
       "error errors exception panic panics oom ooms leak leaks grows slow flaky garbage timeout timeouts "
       "spike spiked red deadlocks stuck slower throwing throws traceback jitter jitters freeze freezes "
       "stutter stutters flicker flickers"),
    phrases=("stack trace",),
)
FIX_REQUEST = Cue("fix_request", phrases=("how fix", "how to fix", "how do i fix", "how can i fix", "fix this",
                                          "fix it", "please fix", "pls fix"))
WORK_ON_PASTE = Cue(
    "work_on_paste",
    _w("summarize summarise summary review audit refactor split rework rewrite restructure reorganize document "
       "explain annotate optimize optimise port faster"),
    phrases=("speed up",),
)
CORRESPONDENCE = Cue(
    "correspondence",
    _w("email e-mail letter post tweet message reply announcement bio linkedin slack newsletter invite note "
       "reminder notice"),
    phrases=("cover letter",),
)
LANGUAGES = _w(
    "python javascript typescript go golang rust java kotlin swift ruby php c c++ c# scala elixir haskell "
    "clojure lua perl bash sql cuda"
)
GENERATE = Cue(
    "generate",
    _w("email e-mail letter post blog tweet poem haiku limerick story essay postmortem post-mortem runbook "
       "playbook proposal announcement summary summarize summarise tldr tl;dr translate reword rephrase "
       "bio speech toast slides outline agenda newsletter typos spelling grammar shorter draft caption "
       "headline tagline slogan linkedin doc docs readme rfc spec documentation report whitepaper guide "
       "tutorial reply memo ideas brainstorm faq faqs title titles apology invitation adr posting article"),
    phrases=("cover letter", "press release", "commit message", "design doc", "project update",
             "status update", "stakeholder update", "weekly update", "release update", "approach\" section", "more casual", "more formal",
             "more polite", "more concise", "release notes", "decision record", "sound more", "sound less", "job post"),
)
CODE_VERB = Cue(
    "code_verb",
    _w("implement write build code create add fix refactor rewrite port migrate convert generate make debug "
       "optimize optimise rework split extract apply update change rename commit push deploy revert rebase "
       "install upgrade bump delete remove handle écris escribe schreib implémente implementa"),
    phrases=("写", "实现", "書いて", "作って", "実装"),
)
CODE_NOUN = Cue(
    "code_noun",
    _w("function fonction función funcion funktion class klasse classe method module component hook script "
       "regex regexp sql api endpoint test tests migration workflow pipeline dockerfile terraform yaml json "
       "schema cli library package kernel jit parser tokenizer crawler server handler middleware decorator "
       "generic generics interface struct algorithm cache buffer tree heap queue scheduler code codebase bug "
       "one-liner jq bash shell python javascript typescript ts js golang rust java c++ c# ruby php "
       "kotlin swift pandas numpy react node django rails alembic playwright pytest jest aiohttp ringpuffer "
       "tableau inlinecode cron crontab postgres postgresql mysql sqlite query queries config manifest manifests "
       "nginx k8s kubernetes helm systemd program"),
    phrases=("缓存", "函数", "代码"),
)
ANALYZE = Cue(
    "analyze",
    _w("why analyze analyse diagnose diagnosis investigate review audit compare vs versus tradeoffs "
       "trade-offs downside downsides evaluate assess interpret prove explain"),
    phrases=("look it over", "look over", "what's going on", "whats going on", "what's happening",
             "what's wrong", "what's the error", "whats the error", "root cause", "should we",
             "should i use", "should i store", "pros and cons",
             "is this going to", "is that going to", "is this safe", "is it safe", "ever charge",
             "change your answer", "change your recommendation", "still recommend", "change anything",
             "what would you change", "what would you pick", "what would you do", "is it something",
             "threat model"),
)

# Asking for a verdict on pasted material ("is this correct?", "any bugs?"): a review, not a lookup.
VERDICT = Cue(
    "verdict",
    _w("correct correctly safe secure sound thread-safe buggy"),
    phrases=("any bugs", "anything wrong", "any issues", "any problems", "is this fine", "is that fine",
             "is it fine", "is this ok", "is this okay"),
)
# Remedies asked for next to a diagnosis ("why ... and how do we fix it"): two pieces of work.
REMEDY = Cue("remedy", _w("fix fixes fixed solve resolve prevent avoid mitigate workaround"))
# Documents whose nature is long-form: sections, decisions and their reasons, consistency throughout.
LONG_FORM_DOC = Cue(
    "long_form_doc",
    _w("rfc runbook playbook whitepaper proposal adr"),
    phrases=("design doc", "technical approach", "design document", "decision record"),
)

# Vocabulary of specialists: where a domain's hard end starts. "thread-safe" is everyday
# concurrency; "lock-free with hazard pointers" is not.
EXPERT = Cue(
    "expert",
    _w("lock-free wait-free linearizable linearizability raft paxos pbft crdt crdts byzantine 2pc jit simd avx "
       "avx2 neon coq isabelle tla+ mvcc zero-knowledge post-quantum side-channel cross-shard seqlock rcu "
       "occupancy warp coalesced coalescing gcm aead hkdf xdp "
       "io_uring ebpf spectre toctou ssrf homomorphic ssa"),
    phrases=("hazard pointer", "memory reclamation", "memory order", "acquire/release", "weak memory",
             "latch crabbing", "exactly once", "two phase commit", "split brain", "machine code", "tensor core",
             "formal verif", "formally verif", "machine checked", "threat model", "side channel",
             "epoch based", "consensus algorithm", "leader election", "vector clock", "lamport",
             "write skew", "serializable isolation", "snapshot isolation", "aba problem", "memory fence",
             "operational transform", "register allocation", "differential privacy", "warp divergence",
             "bank conflict", "kernel bypass", "zero copy", "dependent type", "type inference",
             "garbage collector", "lock ordering", "priority inversion", "formal proof", "hindley milner",
             "read your writes", "causal consistency", "monotonic reads", "authenticated encryption"))
CHANGE_VERBS = _w("migrate port rewrite refactor convert apply move roll repeat")
PROOF_VERBS = _w("prove démontrer demuestra beweise")

ANALYSIS_VERB = Cue(
    "analysis_verb",
    _w("analyze analyse evaluate assess compare tradeoffs trade-offs diagnose critique review audit weigh"),
    phrases=("should we", "pros and cons", "what would you pick", "what would you choose", "downside",
             "failure modes", "risks of", "threat model"),
)

# --- conversation cues ----------------------------------------------------------------------------
ACK = re.compile(
    r"\s*(?:(?:ok(?:ay)?|cool|great|nice|perfect|awesome|got it|thanks?|thank you|thx|ty|cheers|"
    r"haha|lol|nvm|never ?mind|no worries|sounds good|will do|all good|makes sense|understood|"
    r"danke|merci|gracias|obrigad[oa]|grazie|谢谢|ありがとう|good (?:morning|night|evening)|hello|hi|hey)\b"
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF\s]+$)",
    re.I,
)
CHAT_CLOSING = Cue(
    "chat",
    _w("thanks thank thx nvm haha lol danke merci gracias cheers"),
    phrases=("figured it out", "never mind", "nevermind", "cancel that", "cancel it", "not today", "forget it",
             "just wanted to say", "just wanted to share", "just wanted to tell", "no question", "will do",
             "after lunch", "later today", "allow it", "good morning", "good night",
             "hat geklappt", "ça marche", "funcionó"),
)
AFFIRM = re.compile(
    r"\s*(?:yes|yep|yeah|yup|sure|ok(?:ay)?|please|do it|go ahead|go for it|sounds good|let'?s do it|"
    r"continue|keep going|go on|carry on|try again|retry|proceed|ja|oui|sí|si|好的?|是的)\b[\s\w,!.']{0,60}$",
    re.I,
)
FOLLOW_UP_START = re.compile(
    r"\s*(?:and|also|now|same|what about|how about|ok(?:ay)?,? (?:and|now|so)|but|then|so"
    # Hypotheticals about what was just proposed: "what if ...", "would that still ...".
    r"|what if|what would|would (?:that|it|this)|does (?:that|it|this)|how would)\b", re.I
)
FOLLOW_UP = Cue(
    "follow_up",
    _w("it that this those them same also instead again above"),
    phrases=("that way", "as well", "the rest", "all the", "step ", "option ", "your plan", "your answer",
             "your suggestion", "the first one", "the second one", "the last one", "that approach"),
)
# A bare acknowledgement accepts only when something was offered; "go ahead", "continue" always act.
BARE_ACK = re.compile(r"\s*(?:ok(?:ay)?|yes|yep|yeah|yup|sure|sounds good|cool|great|k)\W*$", re.I)
REQUEST = Cue(
    "request",
    _w("please pls help what why write implement make fix explain show give tell need want should"),
    phrases=("can you", "could you", "how do", "how can", "how should", "let's", "?", "？"),
)

# Verbs an agent acts on; at the head of a clause they make a request, not small talk.
ACTION_VERBS = CODE_VERB.words | _w(
    "run commit push deploy install revert delete remove merge rebase undo open read check search list show "
    "fetch clone test lint format bump upgrade downgrade set enable disable configure setup"
)

DESIGN_VERBS = _w("design architect plan propose recommend evaluate assess outline devise")
# Verbs that commit to building something substantial (unlike "write a regex" or "fix this typo").
BUILD_VERBS = _w("implement build design architect develop engineer")
# What a system-design ask designs.
SYSTEM_NOUNS = _w("system systems architecture platform service services pipeline engine infrastructure "
                  "backend framework")

# Words that may stand before the verb of an imperative without changing it.
FILLERS = _w(
    "quick one quickly just pls please can could would you u now ok okay so also and then hey hi "
    "i i'd want need you to help me let's lets us kindly simply"
)

# --- hyphens in phrases, normalised once -------------------------------------------------------
DOMAINS = tuple(_normalised(cue) for cue in DOMAINS)
# The domains where an open question is itself analysis, not a lookup.
HARD_NAMES = frozenset(("distributed", "concurrency", "systems", "security", "proof", "legal"))
HARD_DOMAINS = tuple(cue for cue in DOMAINS if cue.name in HARD_NAMES)
(
    VERDICT, REMEDY, LONG_FORM_DOC, EXPERT, ANALYSIS_VERB, DESIGN, DEFINITION_CJK, SMALL_ARTIFACT,
    LOOKUP_ASK, COMPARE, TESTS, WHY, RESEARCH, TIME_SENSITIVE, SYMPTOM, FIX_REQUEST, WORK_ON_PASTE,
    CORRESPONDENCE, GENERATE, CODE_VERB, CODE_NOUN, ANALYZE, CHAT_CLOSING, FOLLOW_UP, REQUEST,
) = (
    _normalised(cue) for cue in (
        VERDICT, REMEDY, LONG_FORM_DOC, EXPERT, ANALYSIS_VERB, DESIGN, DEFINITION_CJK, SMALL_ARTIFACT,
        LOOKUP_ASK, COMPARE, TESTS, WHY, RESEARCH, TIME_SENSITIVE, SYMPTOM, FIX_REQUEST, WORK_ON_PASTE,
        CORRESPONDENCE, GENERATE, CODE_VERB, CODE_NOUN, ANALYZE, CHAT_CLOSING, FOLLOW_UP, REQUEST,
    )
)

# --- counting constraints -------------------------------------------------------------------------
CONSTRAINT_WORDS = _w(
    "and with without must never only including incl plus then also but except unless while keep preserve "
    "respect honor honour reject cover support supports supporting"
)
DELIVERABLE_WORDS = _w(
    "implement build design write add migrate port refactor recommend propose model gather research compare "
    "summarize summarise explain decide flag verify benchmark include show find list draft plan"
)
