"""Every Markdown file of the repository stays readable and its links lead somewhere.

A maintainer meets the docs before the code: a document that grew to megabytes by accident (as
docs/AUDIT.md did once, one paragraph pasted before every character) or a link to a file or heading
that was renamed is a defect nobody sees in review. Links are read with a real CommonMark parser
(markdown-it, tables on, as GitHub renders them), so links inside code are not links; anchors follow
GitHub's heading slugs.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

REPO = Path(__file__).resolve().parent.parent
MAX_BYTES = 200 * 1024
_HTML_TARGET = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_HTML_ANCHOR = re.compile(r"""<a\s[^>]*\b(?:name|id)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


# Outside a git checkout (an unpacked source archive), what is never part of the repository.
NOT_COMMITTED = {"build", "out", "specs", "node_modules", "__pycache__"}


def markdown_files(root: Path) -> list[Path]:
    """The Markdown files git would commit: tracked ones and new ones not ignored; outside a git
    checkout, every one not in a hidden or generated directory."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.md"],
        capture_output=True,
        timeout=60,
    )
    if listed.returncode != 0:
        return sorted(path for path in root.rglob("*.md") if not any(
            part.startswith(".") or part in NOT_COMMITTED for part in path.relative_to(root).parts[:-1]))
    return sorted({root / name for name in listed.stdout.decode().split("\0") if name and (root / name).is_file()})


def github_slug(text: str) -> str:
    """GitHub's heading anchor: lower case, only letters, digits, marks, '_', '-' and spaces kept, spaces to '-'."""
    kept = (ch for ch in text.lower() if ch in " -_" or unicodedata.category(ch)[0] in "LNM")
    return "".join(kept).replace(" ", "-")


def _inline_text(inline: Token) -> str:
    return "".join(child.content for child in inline.children or () if child.type in ("text", "code_inline"))


def _parse(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def anchors(text: str) -> set[str]:
    """Every #fragment the rendered page has: heading slugs (repeats numbered -1, -2, ...) and HTML anchors."""
    found: set[str] = set()
    tokens = _parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            base = github_slug(_inline_text(tokens[index + 1]))
            slug, repeat = base, 0
            while slug in found:
                repeat += 1
                slug = f"{base}-{repeat}"
            found.add(slug)
        elif token.type in ("html_block", "inline"):
            found.update(_HTML_ANCHOR.findall(token.content))
    return found


def link_targets(text: str) -> list[str]:
    """The targets of every link and image, Markdown or inline HTML, outside code."""
    targets: list[str] = []
    for token in _parse(text):
        if token.type == "html_block":
            targets += _HTML_TARGET.findall(token.content)
        for child in token.children or ():
            if child.type == "link_open":
                targets.append(str(child.attrs["href"]))
            elif child.type == "image":
                targets.append(str(child.attrs["src"]))
            elif child.type == "html_inline":
                targets += _HTML_TARGET.findall(child.content)
    return targets


def problems(path: Path, root: Path) -> list[str]:
    """What is wrong with one Markdown file: its size, links that lead nowhere."""
    where = path.relative_to(root)
    size = path.stat().st_size
    if size > MAX_BYTES:
        return [f"{where}: {size} bytes, over the {MAX_BYTES} byte limit"]
    text = path.read_text(encoding="utf-8")
    found: list[str] = []
    for target in link_targets(text):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue
        relative = unquote(parts.path)
        if not relative:
            dest = path
        elif relative.startswith("/"):
            dest = root / relative.lstrip("/")
        else:
            dest = path.parent / relative
        dest = dest.resolve()
        if not dest.is_relative_to(root) or not dest.exists():
            found.append(f"{where}: link {target!r} leads to no file in the repository")
        elif parts.fragment and dest.suffix == ".md" and unquote(parts.fragment) not in anchors(dest.read_text("utf-8")):
            found.append(f"{where}: link {target!r}: no heading or anchor #{parts.fragment} in {dest.relative_to(root)}")
    return found


def test_repository_markdown_is_small_and_its_links_resolve() -> None:
    files = markdown_files(REPO)
    assert REPO / "README.md" in files and REPO / "docs" / "AUDIT.md" in files
    assert [problem for path in files for problem in problems(path, REPO)] == []


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("ELF checks (`trib audit rpms`)", "elf-checks-trib-audit-rpms"),
        ("Policy: `[audit]`", "policy-audit"),
        ("What's new in 1.0?", "whats-new-in-10"),
        ("snake_case and   spaces", "snake_case-and---spaces"),
        ("Überblick — straße", "überblick--straße"),
    ],
)
def test_github_slug(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_checker_catches_size_dead_links_and_missing_anchors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "A.md").write_text("# Title\n\n## Same\n\n## Same\n\n<a name=\"here\"></a>\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/A.md#same-1) [ok](docs/A.md#here) [ok](#top) [ok](https://example.org/x#y)\n"
        "[bad](docs/B.md) [bad](docs/A.md#same-2) [bad](../outside.md) ![bad](img/missing.png)\n"
        "`[code](nowhere.md)`\n\n```\n[fenced](nowhere.md)\n```\n\n# Top\n"
    )
    assert problems(page, tmp_path) == [
        "README.md: link 'docs/B.md' leads to no file in the repository",
        "README.md: link 'docs/A.md#same-2': no heading or anchor #same-2 in docs/A.md",
        "README.md: link '../outside.md' leads to no file in the repository",
        "README.md: link 'img/missing.png' leads to no file in the repository",
    ]
    page.write_text("x" * (MAX_BYTES + 1))
    assert problems(page, tmp_path) == [f"README.md: {MAX_BYTES + 1} bytes, over the {MAX_BYTES} byte limit"]
