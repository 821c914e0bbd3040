"""The cues the classifier looks for, compiled once at import.

Each cue is a family of words that marks a general property of a request — a hard domain, a
small artifact, a comparison, a time-sensitive fact — never a phrase copied from one labelled case.
`DOMAIN` is one alternation with a named group per hard domain, so the ask is scanned once and
`match.lastgroup` says which domain fired. English cues are backed by a few French, Spanish,
German and Chinese words where a non-English prompt would otherwise lose its strongest cue.
"""

from __future__ import annotations

import re

_I = re.I

# --- hard domains: each distinct domain present raises the difficulty score ----------------------
DOMAIN = re.compile(
    r"(?P<distributed>\b(?:distributed|consensus|raft|paxos|crdts?|quorum|shard(?:s|ed|ing)?|"
    r"cross-shard|replica(?:s|tion)?|replicated|failover|split[- ]brain|leader election|partition(?:s|ed|ing)?|"
    r"exactly[- ]once|two[- ]phase commit|2pc|horizontal(?:ly)? scal\w*|multi-region|clock (?:skew|jumps?|drift)|"
    r"eventual(?:ly)? consisten\w*|linearizab\w*|idempoten\w* across)\b)"
    r"|(?P<concurrency>\b(?:concurren\w*|race conditions?|data races?|lock[- ]free|wait[- ]free|atomics?|"
    r"memory (?:order(?:ing)?|model|barriers?)|weak memory|deadlock(?:s|ed|ing)?|livelock|latch(?:es| crabbing)?|"
    r"mutex(?:es)?|semaphores?|multithreaded|thread[- ]safe|hangs?|pinned|starvation|contention|"
    r"gc pauses?)\b|并发)"
    r"|(?P<systems>\b(?:jit|compilers?|machine code|bytecode|interpreter|kernels?|gpu|cuda|simd|tensor|"
    r"assembly|x86(?:-64)?|arm64|graviton|mmap|syscalls?|allocator|garbage collector|ffi|pyo3|"
    r"numerical(?:ly)?|bit[- ]for[- ]bit|floating[- ]point|precision)\b)"
    r"|(?P<security>\b(?:attacks?|attackers?|threat models?|vulnerab\w*|exploit\w*|ransomware|"
    r"incident[- ]response|phishing|attestation|mtls|tls|handshake|cve-\S+|privilege escalation|"
    r"pentest\w*|zero[- ]trust|hardening|side[- ]channel|cryptograph\w*|encryption)\b)"
    r"|(?P<proof>\b(?:prove|proofs?|theorem|lemma|conjecture|hypothesis|olympiad|invariants?|"
    r"formal(?:ly)? verif\w*|verified|machine[- ]checked|coq|lean4?|isabelle|tla\+|convergence|converge)\b)"
    r"|(?P<evidence>\b(?:evidence|studies|literature|peer[- ]reviewed|meta[- ]analys\w*|"
    r"cite (?:the )?sources?|citations?|regulat\w*|complian\w*|gdpr|hipaa|jurisdictions?|"
    r"changelogs?|scenarios?|grant proposal)\b)"
    r"|(?P<scale>\b(?:across (?:all|every|the|our)\b|all (?:the |our )?(?:services|repos|files|modules|teams)|"
    r"entire (?:codebase|repo|system)|codebase|monolith|microservices|legacy|"
    r"public api|backward[s]?[- ]compatib\w*|\d+\s*(?:more|files|services|repos|tables|endpoints|microservices))\b)"
    r"|(?P<perf>\b(?:p9\d|tail latency|throughput|regression|profil(?:er|ing|e)|benchmarks?|"
    r"occupancy|latency|speedup|oom|leak(?:s|ing)?)\b)",
    _I,
)

# Words that make a plan or design out of a request; weak alone, strong with a hard domain.
DESIGN = re.compile(
    r"\b(?:design|architect(?:ure)?|strategy|trade-?offs?|plan|roadmap|approach|scal(?:e|able|ing)|"
    r"correct(?:ness|ly)?|guarantees?|safe(?:ly)?|without (?:losing|breaking|changing|weakening)|"
    r"preserve|careful|edge cases?|in what order|verify|precisely|minimal correct)\b",
    _I,
)

# --- shapes of small, closed requests -------------------------------------------------------------
DEFINITION = re.compile(
    r"^\s*(?:(?:so|and|ok|hey|hi)[, ]+)?(?:"
    r"what(?:'s|s| is| are| does| do)\b(?! (?:happening|going on|wrong|the best way|you))"
    r"|what'?s the (?:difference|time complexity|big-?o|default|port|syntax|command)"
    r"|(?:is|are|does|do|can|should) (?:a |an |the )?[\w.`'()-]+(?: [\w.`'()-]+){0,4}\??\s*$"
    r"|how (?:do|can) (?:i|you) (?:\w+ ){0,6}\w+\??\s*$"
    r"|who (?:is|was|won|wrote|invented)|when (?:is|was|did)|where (?:is|are|do)"
    r"|define\b|meaning of"
    r"|quelle? (?:est|sont)|qu'est-ce|c'est quoi|qué (?:es|significa)|cuál|was (?:ist|bedeutet)|"
    r"wie (?:kann|funktioniert)"
    r")",
    _I,
)
DEFINITION_CJK = re.compile(r"(?:什么|什麼|是否|吗|嗎|怎么|如何|とは|ですか|무엇)")
SMALL_ARTIFACT = re.compile(
    r"\b(?:regex(?:es)?|regexp|one-?liner|jq|sed|awk|grep|bash:|shell command|alias|cron expression|"
    r"convert (?:this |it )?to|translate|reword|rephrase|rename|haiku|limerick|poem|tweet|slogan|tagline|"
    r"(?:\d|one|two|three) sentences?|typos?|spelling|grammar|shorter|more (?:casual|formal|polite)|"
    r"title for|subject line|commit message|emoji)\b",
    _I,
)
LOOKUP_ASK = re.compile(
    r"\b(?:which|what(?:'s| is)? the (?:error|port|value|name|version|line)|whats the error|"
    r"how many|where(?:'s| is)|is (?:it|this) (?:something|in|the)|is it)\b",
    _I,
)

# --- shapes of medium requests --------------------------------------------------------------------
COMPARE = re.compile(
    r"\b(?:compare|comparison|vs\.?|versus|trade-?offs?|pros and cons|which (?:one|would you|should)|"
    r"what would you (?:pick|choose|use)|should we|downsides?|drawbacks?|alternatives?)\b",
    _I,
)
TESTS = re.compile(
    r"\b(?:tests?|pytest|jest|unit[- ]tests?|property[- ]based|fast-check|playwright|test suite|"
    r"benchmark)\b|单元测试|测试|tests? (?:unitaires|jest)|pruebas",
    _I,
)
WHY = re.compile(
    r"\b(?:why|what'?s (?:going on|happening|wrong)|how come|root cause|what would you change|"
    r"what should i do|is (?:this|that) going to|can (?:two|\w+) \w+ ever|what happens)\b|pourquoi|warum|为什么",
    _I,
)

# --- task-type cues -------------------------------------------------------------------------------
RESEARCH = re.compile(
    r"\b(?:research|look up|find (?:the |all |me )?(?:open |recent |latest )?(?:\w+ )?(?:issues|papers|sources|articles|studies|docs)|"
    r"gather|dig (?:through|into)|sources|cite|studies|evidence|survey|latest|current(?:ly)?|"
    r"right now|this (?:year|week|month)|today'?s?|recent(?:ly)?|news|is \w+ down|status page|"
    r"changelog|release notes|pricing)\b",
    _I,
)
TIME_SENSITIVE = re.compile(
    r"\b(?:latest|current(?:ly)?|right now|this (?:year|week|month)|today|recent(?:ly)?|is \w+ down|news)\b",
    _I,
)
GENERATE = re.compile(
    r"\b(?:email|e-mail|letter|cover letter|post|blog|tweet|poem|haiku|limerick|story|essay|"
    r"postmortem|post-mortem|runbook|playbook|proposal|announcement|press release|"
    r"summar(?:y|ize|ise)|tl;?dr|translate|reword|rephrase|rewrite (?:this|it) (?:to|as|in|more)|"
    r"bio|speech|toast|slides?|outline|agenda|minutes|newsletter|description|"
    r"(?:technical )?approach section|section|typos|spelling|grammar|shorter|more (?:casual|formal|polite)|"
    r"draft|message|reply|caption|headline|tagline|slogan)\b",
    _I,
)
CODE_VERB = re.compile(
    r"\b(?:implement|write|build|code|create|add|fix|refactor|rewrite|port|migrate|convert|generate|"
    r"make|debug|optimi[sz]e|rework|split|extract|apply|update|change|rename|"
    r"écris|escribe|schreib\w*|implémente|implementa)\b|写|实现",
    _I,
)
CODE_NOUN = re.compile(
    r"\b(?:function|fonction|funci[oó]n|funktion|class|klasse|classe|method|module|component|hook|"
    r"script|regex|regexp|query|sql|api|endpoint|test(?:s)?|migration|workflow|pipeline|dockerfile|"
    r"terraform|yaml|json|schema|cli|library|package|kernel|jit|parser|tokenizer|crawler|server|"
    r"handler|middleware|decorator|generic|generics|type|interface|struct|algorithm|cache|buffer|"
    r"tree|heap|queue|scheduler|code|codebase|bug|error|exception|one-?liner|jq|bash|shell|"
    r"python|javascript|typescript|ts|js|go|golang|rust|java|c\+\+|c#|ruby|php|kotlin|swift|"
    r"pandas|numpy|react|node|django|rails|alembic|playwright|pytest|jest|aiohttp|"
    r"ringpuffer|tableau)\b|缓存|函数|代码",
    _I,
)
ANALYZE = re.compile(
    r"\b(?:why|analy[sz]e|diagnos\w*|investigate|review|look (?:it )?over|audit|explain why|"
    r"what'?s (?:going on|happening|wrong|the error)|whats the error|root cause|should we|"
    r"compare|vs\.?|versus|trade-?offs?|downsides?|pros and cons|is (?:this|that|it) (?:going to|safe|correct)|"
    r"can (?:two|\w+) \w+ ever|what would you (?:change|pick|do)|evaluate|assess|interpret|"
    r"is it something)\b",
    _I,
)

# --- conversation cues ----------------------------------------------------------------------------
ACK = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|cool|great|nice|perfect|awesome|got it|thanks?|thank you|thx|ty|cheers|"
    r"haha|lol|nvm|never ?mind|no worries|sounds good|will do|all good|makes sense|understood|"
    r"danke|merci|gracias|obrigad[oa]|grazie|谢谢|ありがとう|good (?:morning|night|evening)|hello|hi|hey)\b"
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF]+\s*$)",
    _I,
)
CHAT_CLOSING = re.compile(
    r"\b(?:thanks?|thank you|thx|figured it out|never ?mind|nvm|cancel (?:that|it)|not today|"
    r"forget it|just wanted to (?:say|share|tell)|no question|will do|after lunch|later today|"
    r"i'?ll allow it|haha|lol|good (?:morning|night)|ready to|about to throw|so frustrat\w*|"
    r"been debugging (?:this )?for|hat geklappt|ça marche|funcionó)\b",
    _I,
)
AFFIRM = re.compile(
    r"^\s*(?:yes|yep|yeah|yup|sure|ok(?:ay)?|please|do it|go ahead|go for it|sounds good|let'?s do it|"
    r"ja|oui|sí|si|好的?|是的)\b[\s\w,!.']{0,60}$",
    _I,
)
FOLLOW_UP = re.compile(
    r"^\s*(?:and|also|now|same|what about|how about|ok(?:ay)? (?:and|now|so)|but|then|so)\b"
    r"|\b(?:it|that|this|those|them|same|also|instead|again|that way|as well|the rest|all the)\b",
    _I,
)
REQUEST = re.compile(
    r"\?|\b(?:can you|could you|please|pls|help|how (?:do|can|should)|what|why|write|implement|"
    r"make|fix|explain|show|give|tell|need|want|let'?s|should)\b",
    _I,
)

# --- counting constraints -------------------------------------------------------------------------
CONSTRAINT = re.compile(
    r"[,;]|\(|\b(?:and|with|without|must|never|only|including|incl|plus|then|also|but|except|"
    r"unless|while|keep|preserve|respect|honou?r|reject|cover|support(?:s|ing)?)\b",
    _I,
)
NUMBER = re.compile(r"\b\d[\d,.]*\s*(?:%|ms|s|k|m|gb|mb|tb|x|rps|qps|loc|h|hours?|days?|months?|files?|engineers?|tables?)?\b", _I)
DELIVERABLE = re.compile(
    r"\b(?:implement|build|design|write|add|migrate|port|refactor|recommend|propose|model|gather|"
    r"research|compare|summari[sz]e|explain|decide|flag|verify|benchmark|test|map out|include|"
    r"show|find|list|draft|plan)\b",
    _I,
)
QUESTION = re.compile(r"\?+")
