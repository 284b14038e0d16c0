"""Every way an overlay can fail to apply, with the message a maintainer sees (the render stage adds
component, overlay number and TOML location in front)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from overlay_kit import make_tree, overlay, read_spec

from tributary.errors import OverlayError, PathEscapeError, TribError
from tributary.overlays import ComponentTree, apply_overlay

SPEC = "Name: x\nBuildRequires: gcc\n%package devel\nSummary: d\n%build\nmake\n%files devel\n/d\n"

CATALOGUE = [
    ("spec-add-tag", {"package": "nope", "tag": "A", "value": "b"}, "no %package section for package 'nope'"),
    ("spec-insert-tag", {"package": "nope", "tag": "A", "value": "b"}, "no %package section for package 'nope'"),
    ("spec-set-tag", {"package": "nope", "tag": "A", "value": "b"}, "no %package section for package 'nope'"),
    ("spec-update-tag", {"tag": "Release", "value": "2"}, "no tag 'Release' in the main package"),
    ("spec-update-tag", {"package": "devel", "tag": "Release", "value": "2"}, "no tag 'Release' in package 'devel'"),
    ("spec-remove-tag", {"tag": "BuildRequires", "value": "clang"}, "no tag 'BuildRequires' with value 'clang' in the main package"),
    ("spec-remove-tag", {"tag": "BuildRequires", "package": "devel"}, "no tag 'BuildRequires' in package 'devel'"),
    ("spec-prepend-lines", {"section": "%check", "lines": ["x"]}, "no %check section for the main package"),
    ("spec-append-lines", {"section": "%files", "lines": ["x"]}, "no %files section for the main package"),
    ("spec-append-lines", {"section": "%files", "package": "libs", "lines": ["x"]}, "no %files section for package 'libs'"),
    ("spec-search-replace", {"regex": "cmake", "section": "%build"}, "regex 'cmake' matched no line in section %build"),
    ("spec-search-replace", {"regex": "^%files devel$"}, "it matches a section header line"),
    ("spec-search-replace", {"regex": "make", "replacement": "make", "section": "%build"}, "left every line unchanged"),
    ("spec-search-replace", {"regex": "make", "section": "%install"}, "no section %install to search"),
    ("spec-remove-section", {"section": "%files"}, "no %files section for the main package"),
    ("spec-remove-section", {"section": "%post", "package": "devel"}, "no %post section for package 'devel'"),
    ("spec-remove-subpackage", {"package": "libs"}, "no section belongs to package 'libs'"),
    ("patch-remove", {"file": "*.patch"}, "no file matches '\\*.patch'"),
    ("file-prepend-lines", {"file": "Makefile", "lines": ["#"]}, "no file matches 'Makefile'"),
    ("file-search-replace", {"file": "*.conf", "regex": "x"}, "no file matches '\\*.conf'"),
    ("file-search-replace", {"file": "present.txt", "regex": "absent"}, "regex 'absent' changed no file matching 'present.txt'"),
    ("file-add", {"file": "present.txt", "source": "SOURCE"}, "'present.txt' already exists"),
    ("file-remove", {"file": "**/*.rej"}, "no file matches '\\*\\*/\\*.rej'"),
    ("file-rename", {"file": "absent.txt", "replacement": "b.txt"}, "no file matches 'absent.txt'"),
    ("file-remove", {"file": "t.tar", "archive": "t.tar"}, "archive 't.tar' not found"),
]


@pytest.mark.parametrize(("kind", "fields", "message"), CATALOGUE, ids=[f"{c[0]}:{c[2][:30]}" for c in CATALOGUE])
def test_error(tmp_path: Path, kind: str, fields: dict, message: str) -> None:
    source = tmp_path / "source.txt"
    source.write_text("s")
    fields = {key: (str(source) if value == "SOURCE" else value) for key, value in fields.items()}
    tree = make_tree(tmp_path / "src", SPEC, {"present.txt": "present"})
    with pytest.raises(OverlayError, match=message):
        apply_overlay(overlay(kind, **fields), tree)
    assert read_spec(tree) == SPEC and (tree.root / "present.txt").read_text() == "present"


def test_patch_remove_with_file_but_no_spec_entry(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, SPEC, {"a.patch": ""})
    with pytest.raises(OverlayError, match="no PatchN tag or %patchlist entry matches 'a.patch'"):
        apply_overlay(overlay("patch-remove", file="a.patch"), tree)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "spec-prepend-lines", "package": "devel", "lines": ["x"]}, "package needs section"),
        ({"type": "spec-remove-section", "section": ""}, "must not be empty"),
        ({"type": "spec-search-replace", "regex": "x", "section": "build"}, "must start with '%'"),
        ({"type": "spec-search-replace", "regex": "("}, "invalid regex"),
        ({"type": "file-remove", "file": "../x"}, "must not contain '..'"),
        ({"type": "file-remove", "file": "/etc/x"}, "must be relative"),
        ({"type": "file-rename", "file": "a", "replacement": "d/b"}, "plain file name"),
        ({"type": "spec-remove-subpackage", "package": "x", "section": "%files"}, "does not take section"),
    ],
)
def test_bad_overlays_are_refused_when_loaded(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        overlay(fields.pop("type"), **fields)


def test_symlink_out_of_the_root_is_a_path_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside.conf"
    outside.write_text("secret")
    tree = make_tree(tmp_path / "src", SPEC)
    os.symlink(outside, tree.root / "app.conf")
    for kind, fields in (
        ("file-prepend-lines", {"lines": ["x"]}),
        ("file-search-replace", {"regex": "secret", "replacement": "x"}),
        ("file-remove", {}),
        ("file-rename", {"replacement": "other.conf"}),
    ):
        with pytest.raises(PathEscapeError, match="leads outside"):
            apply_overlay(overlay(kind, file="app.conf", **fields), tree)
    with pytest.raises(PathEscapeError, match="leads outside"):
        apply_overlay(overlay("file-add", file="app.conf", source=str(outside)), tree)
    os.symlink(outside, tree.root / "t.tar")
    with pytest.raises(OverlayError, match="is a symbolic link"):
        apply_overlay(overlay("file-remove", archive="t.tar", file="x"), tree)
    assert outside.read_text() == "secret"


def test_spec_symlinked_out_of_the_root_is_a_path_escape(tmp_path: Path) -> None:
    outside = tmp_path / "real.spec"
    outside.write_text("Name: x\n")
    root = tmp_path / "src"
    root.mkdir()
    os.symlink(outside, root / "pkg.spec")
    with pytest.raises(TribError, match="leads outside"):
        apply_overlay(overlay("spec-add-tag", tag="A", value="b"), ComponentTree(root, "pkg.spec"))
    assert outside.read_text() == "Name: x\n"
