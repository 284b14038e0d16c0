"""patch-add and patch-remove: numbering, %patchlist, globs over values, and the file part."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from overlay_kit import make_tree, overlay, read_spec, spec

from tributary.errors import OverlayError
from tributary.overlays import apply_overlay, apply_spec_overlay


def add(text: str, **fields: str) -> str:
    return apply_spec_overlay(text, overlay("patch-add", source="/somewhere/fix.patch", **fields))


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([], "Patch0"),
        (["Patch0: a", "Patch3: b"], "Patch4"),
        (["Patch: a", "Patch: b"], "Patch2"),  # bare Patch tags occupy 0..k-1
        (["Patch: a", "Patch5: b"], "Patch6"),
        (["Patch: a", "Patch: b", "Patch: c", "Patch0: d"], "Patch3"),
        (["Patch%{n}: a"], "Patch0"),  # macro-numbered tags are invisible
        (["patch007: a"], "Patch8"),
    ],
)
def test_patch_numbering(tags: list[str], expected: str) -> None:
    assert add(spec(*tags, "%description")) == spec(*tags, f"{expected}: fix.patch", "%description")


def test_highest_number_counts_every_package() -> None:
    before = spec("Patch1: a", "%package devel", "Patch7: b", "%description")
    assert add(before) == spec("Patch1: a", "Patch8: fix.patch", "%package devel", "Patch7: b", "%description")


def test_patch_add_with_package_and_file_name() -> None:
    before = spec("Patch0: a", "%package devel", "Summary: s", "%files")
    after = spec("Patch0: a", "%package devel", "Summary: s", "Patch1: patches/renamed.patch", "%files")
    assert add(before, package="devel", file="patches/renamed.patch") == after


def test_patchlist_wins_over_tags() -> None:
    before = spec("Patch0: a", "%patchlist", "b.patch", "", "%prep")
    assert add(before) == spec("Patch0: a", "%patchlist", "b.patch", "", "fix.patch", "%prep")


def test_patch_add_copies_the_file_with_its_mode(tmp_path: Path) -> None:
    source = tmp_path / "fix.patch"
    source.write_text("patch\n")
    source.chmod(0o640)
    tree = make_tree(tmp_path / "src", spec("Name: x"))
    apply_overlay(overlay("patch-add", source=str(source), file="sub/dir/fix.patch"), tree)
    copied = tree.root / "sub/dir/fix.patch"
    assert copied.read_text() == "patch\n" and (copied.stat().st_mode & 0o777) == 0o640
    assert read_spec(tree) == spec("Name: x", "Patch0: sub/dir/fix.patch")


def test_patch_add_failures_leave_the_tree_untouched(tmp_path: Path) -> None:
    source = tmp_path / "fix.patch"
    source.write_text("new")
    tree = make_tree(tmp_path / "src", spec("Name: x"), {"fix.patch": "old"})
    with pytest.raises(OverlayError, match="'fix.patch' already exists"):
        apply_overlay(overlay("patch-add", source=str(source)), tree)
    with pytest.raises(OverlayError, match="does not exist"):
        apply_overlay(overlay("patch-add", source=str(tmp_path / "missing.patch"), file="other.patch"), tree)
    assert read_spec(tree) == spec("Name: x") and (tree.root / "fix.patch").read_text() == "old"


def test_patch_remove_matches_url_values_with_doublestar(tmp_path: Path) -> None:
    text = spec("Patch0: https://example.org/commits/abc123.patch", "Patch1: abc123.patch.sig", "Name: x")
    tree = make_tree(tmp_path, text, {"abc123.patch": "x"})
    apply_overlay(overlay("patch-remove", file="**/abc123.patch"), tree)
    assert read_spec(tree) == spec("Patch1: abc123.patch.sig", "Name: x")
    assert not (tmp_path / "abc123.patch").exists()


def test_patch_remove_covers_patchlist_and_every_package(tmp_path: Path) -> None:
    text = spec("Patch0: a.patch", "%package devel", "Patch1: b.patch", "%patchlist", "  c.patch", "keep.patch", "%prep")
    tree = make_tree(tmp_path, text, {"a.patch": "", "b.patch": "", "c.patch": "", "keep.patch": ""})
    apply_overlay(overlay("patch-remove", file="{a,b,c}.patch"), tree)
    assert read_spec(tree) == spec("%package devel", "%patchlist", "keep.patch", "%prep")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.patch", "pkg.spec"]


def test_patch_remove_ignores_bare_patch_tags() -> None:
    with pytest.raises(OverlayError, match="no PatchN tag or %patchlist entry matches 'a.patch'"):
        apply_spec_overlay(spec("Patch: a.patch"), overlay("patch-remove", file="a.patch"))


def test_patch_remove_needs_both_a_spec_entry_and_a_file(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, spec("Patch0: a.patch"), {"b.patch": ""})
    with pytest.raises(OverlayError, match="no file matches 'a.patch'"):
        apply_overlay(overlay("patch-remove", file="a.patch"), tree)
    with pytest.raises(OverlayError, match="no PatchN tag"):
        apply_overlay(overlay("patch-remove", file="b.patch"), tree)
    assert read_spec(tree) == spec("Patch0: a.patch") and os.path.exists(tmp_path / "b.patch")
