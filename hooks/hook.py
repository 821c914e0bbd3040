"""routerd's command-hook shim (Claude Code, Codex CLI, Gemini CLI): see hook_core.py. Stdlib only.

Run as ``<venv python> -I -S hook.py --host H --event E``. ``-I`` leaves this directory off
``sys.path``, so it is put there by hand; the work happens in ``hook_core``, whose bytecode Python
caches, where this file is compiled on every run.
"""

import sys

sys.path.insert(0, __file__.rpartition("/")[0] or ".")
from hook_core import main

sys.exit(main())
