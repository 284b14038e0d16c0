"""Loose-file overlays: globs, exclusions, permissions, and staying inside the sources directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from overlay_kit import SPEC_NAME, make_tree, overlay, read_spec

from tributary.config.model import Overlay
from tributary.errors import OverlayError, PathEscapeError
from tributary.overlays import apply_overlay
from tributary.overlays.files import destination


def test_prepend_joins_lines_for_every_matching_file_and_keeps_mode(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"a.sh": "echo a\n", "sub/b.sh": "echo b\n", "c.txt": "c\n"})
    (tmp_path / "a.sh").chmod(0o755)
    apply_overlay(overlay("file-prepend-lines", file="**/*.sh", lines=["#!/bin/sh", "set -e"]), tree)
    assert (tmp_path / "a.sh").read_text() == "#!/bin/sh\nset -e\necho a\n"
    assert (tmp_path / "sub/b.sh").read_text() == "#!/bin/sh\nset -e\necho b\n"
    assert (tmp_path / "c.txt").read_text() == "c\n"
    assert (tmp_path / "a.sh").stat().st_mode & 0o777 == 0o755


def test_globs_never_reach_specs_or_git(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, "Name: redhat-rpm-config\n", {".git/config": "redhat-rpm-config", "macros": "redhat-rpm-config"})
    apply_overlay(overlay("file-search-replace", file="**/*", regex="redhat-rpm-config", replacement="azurelinux-rpm-config"), tree)
    assert (tmp_path / "macros").read_text() == "azurelinux-rpm-config"
    assert (tmp_path / ".git/config").read_text() == "redhat-rpm-config"
    assert read_spec(tree) == "Name: redhat-rpm-config\n"
    with pytest.raises(OverlayError, match="is a .spec file"):
        apply_overlay(overlay("file-remove", file=SPEC_NAME), tree)


def test_search_replace_whole_file_with_dotall_and_literal_replacement(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"a.conf": "begin\nx\nend\nkeep\n"})
    apply_overlay(overlay("file-search-replace", file="a.conf", regex=r"(?s)begin.*end\n", replacement="$1\n"), tree)
    assert (tmp_path / "a.conf").read_text() == "$1\nkeep\n"


def test_search_replace_succeeds_when_any_file_changes_and_fails_when_none_does(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"a.txt": "foo", "b.txt": "bar"})
    (tmp_path / "a.txt").chmod(0o600)
    apply_overlay(overlay("file-search-replace", file="*.txt", regex="foo", replacement="baz"), tree)
    assert (tmp_path / "a.txt").read_text() == "baz" and (tmp_path / "b.txt").read_text() == "bar"
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o600
    with pytest.raises(OverlayError, match=r"regex 'foo' changed no file matching '\*.txt'"):
        apply_overlay(overlay("file-search-replace", file="*.txt", regex="foo", replacement="baz"), tree)


def test_search_replace_keeps_undecodable_bytes(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"latin1.txt": b"caf\xe9 old\n"})
    apply_overlay(overlay("file-search-replace", file="latin1.txt", regex="old", replacement="new"), tree)
    assert (tmp_path / "latin1.txt").read_bytes() == b"caf\xe9 new\n"


def test_file_add_creates_subdirectories_and_copies_mode(tmp_path: Path) -> None:
    source = tmp_path / "tool.sh"
    source.write_text("#!/bin/sh\n")
    source.chmod(0o755)
    tree = make_tree(tmp_path / "src")
    apply_overlay(overlay("file-add", file="scripts/tool.sh", source=str(source)), tree)
    added = tree.root / "scripts/tool.sh"
    assert added.read_text() == "#!/bin/sh\n" and added.stat().st_mode & 0o777 == 0o755


def test_file_add_refuses_specs_and_missing_sources(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src")
    with pytest.raises(ValueError, match="must not write a .spec"):
        overlay("file-add", file="other.spec", source="/x")
    with pytest.raises(OverlayError, match="may not create one"):
        destination(tree, "other.spec")
    with pytest.raises(OverlayError, match="does not exist"):
        apply_overlay(overlay("file-add", file="x", source=str(tmp_path / "missing")), tree)


def test_file_remove_glob_removes_every_match(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"a.patch": "", "d/b.patch": "", "c.txt": ""})
    apply_overlay(overlay("file-remove", file="**/*.patch"), tree)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == ["c.txt", SPEC_NAME]


def test_file_rename_within_its_directory_overwriting_a_target(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"units/run-vmblock\\x2dfuse.mount": "unit", "units/vmblock-fuse.mount": "old"})
    apply_overlay(overlay("file-rename", file="units/run-vmblock\\x2dfuse.mount", replacement="vmblock-fuse.mount"), tree)
    assert (tmp_path / "units/vmblock-fuse.mount").read_text() == "unit"
    assert not (tmp_path / "units/run-vmblock\\x2dfuse.mount").exists()


def test_file_rename_needs_exactly_one_match(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"a.txt": "", "b.txt": ""})
    with pytest.raises(OverlayError, match=r"'\*.txt' matches 2 files \(a.txt, b.txt\)"):
        apply_overlay(overlay("file-rename", file="*.txt", replacement="c.txt"), tree)
    with pytest.raises(OverlayError, match="no file matches"):
        apply_overlay(overlay("file-rename", file="z.txt", replacement="c.txt"), tree)
    with pytest.raises(OverlayError, match="may not create a .spec"):
        apply_overlay(overlay("file-rename", file="a.txt", replacement="evil.spec"), tree)


# -- confinement -------------------------------------------------------------------------------


def test_symlink_pointing_outside_is_rejected(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    tree = make_tree(tmp_path / "src")
    os.symlink(outside, tree.root / "link.txt")
    with pytest.raises(PathEscapeError, match="leads outside"):
        apply_overlay(overlay("file-search-replace", file="link.txt", regex="secret", replacement="x"), tree)
    with pytest.raises(OverlayError, match="no file matches"):
        apply_overlay(overlay("file-search-replace", file="*.txt", regex="secret", replacement="x"), tree)
    assert outside.read_text() == "secret"


def test_symlinked_directory_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.conf").write_text("secret")
    tree = make_tree(tmp_path / "src", files={"in.conf": "secret"})
    os.symlink(outside, tree.root / "linked")
    apply_overlay(overlay("file-search-replace", file="**/*.conf", regex="secret", replacement="x"), tree)
    assert (outside / "x.conf").read_text() == "secret" and (tree.root / "in.conf").read_text() == "x"
    with pytest.raises(PathEscapeError):
        apply_overlay(overlay("file-add", file="linked/new.conf", source=str(outside / "x.conf")), tree)
    assert not (outside / "new.conf").exists()


def test_symlink_inside_the_tree_is_still_not_followed(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"real.txt": "a"})
    os.symlink("real.txt", tmp_path / "alias.txt")
    with pytest.raises(OverlayError, match="is a symbolic link"):
        apply_overlay(overlay("file-remove", file="alias.txt"), tree)


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../escape"])
def test_parent_and_absolute_paths_are_rejected_by_the_model(path: str) -> None:
    with pytest.raises(ValueError, match="relative|'\\.\\.'"):
        overlay("file-remove", file=path)


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd"])
def test_parent_and_absolute_paths_are_rejected_by_the_handlers_too(tmp_path: Path, path: str) -> None:
    tree = make_tree(tmp_path / "src")
    (tmp_path / "escape.txt").write_text("x")
    for kind in ("file-remove", "file-prepend-lines"):
        unchecked = Overlay.model_construct(type=kind, file=path, lines=["x"])
        with pytest.raises(PathEscapeError):
            apply_overlay(unchecked, tree)
    add = Overlay.model_construct(type="file-add", file=path, source=str(tmp_path / "escape.txt"))
    with pytest.raises(PathEscapeError):
        apply_overlay(add, tree)
    assert (tmp_path / "escape.txt").read_text() == "x"


def test_search_replace_reference_vendor_example(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"macros": "%_vendor redhat\n%_other 1\n"})
    apply_overlay(overlay("file-search-replace", file="macros", regex="%_vendor.*", replacement="%_vendor azurelinux"), tree)
    assert (tmp_path / "macros").read_text() == "%_vendor azurelinux\n%_other 1\n"
