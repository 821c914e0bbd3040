"""A working directory's project: the git remote as owner/repo (no credentials), through worktrees,
else the repository's or the directory's name."""

from pathlib import Path

import pytest

from routerd.ledger.project import project_of


def _repo(root: Path, remote: str | None) -> Path:
    (root / ".git").mkdir(parents=True)
    text = "[core]\n\tbare = false\n"
    if remote:
        text += f'[remote "origin"]\n\turl = {remote}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
    (root / ".git" / "config").write_text(text)
    return root


@pytest.mark.parametrize(("remote", "project"), [
    ("git@github.com:acme/api.git", "acme/api"),
    ("https://github.com/acme/api", "acme/api"),
    ("https://user:ghp_s3cret@gitlab.example.com/group/sub/api.git", "sub/api"),
    ("ssh://git@host.example:2222/acme/api.git/", "acme/api"),
    ("/srv/git/api.git", "git/api"),
])
def test_the_remote_names_the_project(tmp_path: Path, remote: str, project: str):
    """Each remote URL form gives owner/repo; user names and tokens never appear."""
    _repo(tmp_path / "r", remote)
    (tmp_path / "r" / "src" / "deep").mkdir(parents=True)
    assert project_of(str(tmp_path / "r" / "src" / "deep")) == project


def test_worktrees_no_remote_and_no_repository(tmp_path: Path):
    """A worktree reads its main repository's remote; no remote: the repository's directory name;
    no repository: the directory's name; nothing for a relative or empty path."""
    main = _repo(tmp_path / "main-checkout", "git@github.com:acme/widgets.git")
    (main / ".git" / "worktrees" / "feature").mkdir(parents=True)
    (main / ".git" / "worktrees" / "feature" / "commondir").write_text("../..\n")
    tree = tmp_path / "feature"
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {main / '.git' / 'worktrees' / 'feature'}\n")
    assert project_of(str(tree)) == "acme/widgets"
    assert project_of(str(_repo(tmp_path / "plain", None))) == "plain"
    (tmp_path / "scratch").mkdir()
    assert project_of(str(tmp_path / "scratch")) == "scratch"
    assert project_of("relative/dir") is None and project_of("") is None
