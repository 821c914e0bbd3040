"""A working directory's project name, for grouping usage: the git remote ``origin`` as
``owner/repo``, else the repository's directory name, else the directory's own name.

Blocking (it reads ``.git`` files): call it in a worker thread. Only path segments of the remote
URL are kept, so credentials in an ``https://user:token@host/...`` remote never reach the database.
Git worktrees are followed to their common directory, where the remotes are configured.
"""

from pathlib import Path
from urllib.parse import urlsplit

MAX_CONFIG_BYTES = 256 * 1024  # a git config is a few hundred bytes; never read a huge file


def project_of(cwd: str) -> str | None:
    """The project ``cwd`` belongs to, or None for an empty or relative path."""
    path = Path(cwd)
    if not cwd or not path.is_absolute():
        return None
    for directory in (path, *path.parents):
        config = _git_config(directory / ".git")
        if config is not None:
            remote = _origin_url(config)
            return (_name_from_remote(remote) if remote else None) or directory.name or None
    return path.name or None


def _git_config(dot_git: Path) -> Path | None:
    """The config file of the repository whose ``.git`` (a directory, or a worktree's file that
    points at its git directory) is ``dot_git``; None when there is none."""
    try:
        if dot_git.is_dir():
            return dot_git / "config"
        if not dot_git.is_file():
            return None
        text = dot_git.read_text(errors="replace")[:4096]
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    gitdir = (dot_git.parent / text[7:].strip()).resolve()
    try:
        common = (gitdir / (gitdir / "commondir").read_text().strip()).resolve()
    except OSError:
        common = gitdir
    return common / "config"


def _origin_url(config: Path) -> str | None:
    import configparser  # first use: see FIRST_USE in tests/test_layers.py

    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        with config.open(errors="replace") as handle:
            parser.read_string(handle.read(MAX_CONFIG_BYTES))
    except (OSError, configparser.Error):
        return None
    section = 'remote "origin"'
    return parser.get(section, "url", fallback=None) if parser.has_section(section) else None


def _name_from_remote(url: str) -> str | None:
    """``git@github.com:acme/api.git``, ``https://host/acme/api``, ``/srv/git/api.git`` ->
    ``acme/api``, ``acme/api``, ``git/api`` (the last two path segments, no scheme, host or user)."""
    url = url.strip()
    if "://" in url:
        path = urlsplit(url).path
    elif ":" in url.split("/", 1)[0]:  # scp-like: [user@]host:path
        path = url.split(":", 1)[1]
    else:
        path = url
    parts = [p for p in path.removesuffix("/").removesuffix(".git").split("/") if p]
    return "/".join(parts[-2:]) or None
