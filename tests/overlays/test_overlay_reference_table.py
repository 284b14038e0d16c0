"""Every row of the reference's before/after table (azldev-reference section 2.7), one test each."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
from overlay_kit import edit, make_tree, overlay, read_spec, spec

from tributary.errors import OverlayError
from tributary.overlays import apply_overlay, apply_spec_overlay


def test_add_tag_appends_at_end_of_preamble_after_blank_line() -> None:
    before = spec("Name: x", "BuildRequires: gcc", "", "%description")
    after = spec("Name: x", "BuildRequires: gcc", "", "BuildRequires: make", "%description")
    assert edit(before, "spec-add-tag", tag="BuildRequires", value="make") == after


def test_add_tag_to_subpackage() -> None:
    before = spec("%package devel", "Summary: d", "", "%description devel")
    after = spec("%package devel", "Summary: d", "", "Requires: foo", "%description devel")
    assert edit(before, "spec-add-tag", package="devel", tag="Requires", value="foo") == after


def test_insert_tag_moves_past_endif() -> None:
    before = spec("Source0: a", "%if 0%{?x}", "Source1: b", "%endif", "BuildRequires: gcc")
    after = spec("Source0: a", "%if 0%{?x}", "Source1: b", "%endif", "Source9999: m", "BuildRequires: gcc")
    assert edit(before, "spec-insert-tag", tag="Source9999", value="m") == after


def test_set_tag_adds_when_absent() -> None:
    before = spec("Name: x", "", "%description", "d")
    after = spec("Name: x", "", "Vendor: Microsoft", "%description", "d")
    assert edit(before, "spec-set-tag", tag="Vendor", value="Microsoft") == after


def test_set_tag_rewrites_and_normalises_spacing() -> None:
    before = spec("Name: x", "Vendor:   Fedora", "%description")
    after = spec("Name: x", "Vendor: Microsoft", "%description")
    assert edit(before, "spec-set-tag", tag="Vendor", value="Microsoft") == after


def test_update_tag_rewrites_both_branches() -> None:
    before = spec("%if a", "Release: 1%{?dist}", "%else", "Release: 3%{?dist}", "%endif")
    after = spec("%if a", "Release: 2%{?dist}", "%else", "Release: 2%{?dist}", "%endif")
    assert edit(before, "spec-update-tag", tag="Release", value="2%{?dist}") == after


def test_remove_tag_with_value() -> None:
    before = spec("BuildRequires: xen-devel", "BuildRequires: gcc")
    assert edit(before, "spec-remove-tag", tag="BuildRequires", value="xen-devel") == spec("BuildRequires: gcc")


def test_remove_tag_without_value() -> None:
    before = spec("Name: x", "Patch0: fedora-only.patch")
    assert edit(before, "spec-remove-tag", tag="Patch0") == spec("Name: x")


def test_prepend_lines_to_build() -> None:
    before = spec("%build", "%configure")
    after = spec("%build", "export X=1", "%configure")
    assert edit(before, "spec-prepend-lines", section="%build", lines=["export X=1"]) == after


def test_prepend_lines_without_section_goes_to_top() -> None:
    assert edit(spec("Name: x"), "spec-prepend-lines", lines=["export X=1"]) == spec("export X=1", "Name: x")


def test_append_lines_to_install() -> None:
    before = spec("%install", "make install", "", "%files")
    after = spec("%install", "make install", "", "ln -s a b", "%files")
    assert edit(before, "spec-append-lines", section="%install", lines=["ln -s a b"]) == after


def test_append_lines_land_inside_the_next_sections_conditional() -> None:
    before = spec("%install", "make install", "%if %{with check}", "%check")
    after = spec("%install", "make install", "%if %{with check}", "ln -s a b", "%check")
    assert edit(before, "spec-append-lines", section="%install", lines=["ln -s a b"]) == after


def test_search_replace_in_build_with_empty_replacement() -> None:
    before = spec("%build", "%configure --enable-foo --bar")
    after = spec("%build", "%configure --bar")
    assert edit(before, "spec-search-replace", section="%build", regex=r"--enable-foo\s*", replacement="") == after


def test_search_replace_never_visits_headers() -> None:
    with pytest.raises(OverlayError, match="pattern|matched no line"):
        edit(spec("%package -n foo", "Summary: f"), "spec-search-replace", regex="^%package -n foo$")


def test_remove_section_files_devel() -> None:
    before = spec("%files", "/usr/bin/x", "", "%files devel", "/usr/include/*", "", "%changelog")
    after = spec("%files", "/usr/bin/x", "", "%changelog")
    assert edit(before, "spec-remove-section", section="%files", package="devel") == after


def test_remove_subpackage_removes_all_its_sections() -> None:
    before = spec(
        "Name: x", "%description", "main", "%package devel", "Summary: d", "%description devel", "dev",
        "%files", "/x", "%files devel", "/y",
    )
    after = spec("Name: x", "%description", "main", "%files", "/x")
    assert edit(before, "spec-remove-subpackage", package="devel") == after


def test_remove_subpackage_keeps_the_conditional_wrapper() -> None:
    before = spec("%if 0%{?with_devel}", "%package devel", "Summary: d", "%endif")
    assert edit(before, "spec-remove-subpackage", package="devel") == spec("%if 0%{?with_devel}", "%endif")


def test_patch_add_without_patchlist(tmp_path: Path) -> None:
    (tmp_path / "fix.patch").write_text("--- fix\n")
    tree = make_tree(tmp_path / "src", spec("Patch0: a.patch", "Patch3: b.patch", "", "%description", "d"))
    apply_overlay(overlay("patch-add", source=str(tmp_path / "fix.patch")), tree)
    assert read_spec(tree) == spec("Patch0: a.patch", "Patch3: b.patch", "", "Patch4: fix.patch", "%description", "d")
    assert (tree.root / "fix.patch").read_text() == "--- fix\n"


def test_patch_add_with_patchlist() -> None:
    text = apply_spec_overlay(spec("%patchlist", "a.patch"), overlay("patch-add", source="/abs/fix.patch"))
    assert text == spec("%patchlist", "a.patch", "fix.patch")


def test_patch_remove_tag_file_and_its_prep_line(tmp_path: Path) -> None:
    """The one row tributary deliberately differs on: azldev leaves ``%patch1 -p1``, which rpm refuses
    ("No patch number 1"), so its output cannot build (docs/COMPATIBILITY.md; test_overlay_traps.py)."""
    text = spec("Patch1: CVE-1.patch", "Patch2: ok.patch", "%prep", "%patch1 -p1")
    tree = make_tree(tmp_path, text, {"CVE-1.patch": "a", "ok.patch": "b"})
    apply_overlay(overlay("patch-remove", file="CVE-*.patch"), tree)
    assert read_spec(tree) == spec("Patch2: ok.patch", "%prep")
    assert not (tmp_path / "CVE-1.patch").exists() and (tmp_path / "ok.patch").exists()


def test_file_prepend_lines(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"Makefile": "all:\n"})
    apply_overlay(overlay("file-prepend-lines", file="Makefile", lines=["# azl"]), tree)
    assert (tmp_path / "Makefile").read_text() == "# azl\nall:\n"


def test_file_search_replace_literal(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"grub.macros": "%global with_xen_arch 1\n"})
    apply_overlay(
        overlay("file-search-replace", file="grub.macros", regex="%global with_xen_arch 1", replacement="%global with_xen_arch 0"),
        tree,
    )
    assert (tmp_path / "grub.macros").read_text() == "%global with_xen_arch 0\n"


def test_file_search_replace_whole_file_multiline_regex(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"x.rules": "A\nB"})
    apply_overlay(overlay("file-search-replace", file="x.rules", regex="(?m)^", replacement="#"), tree)
    assert (tmp_path / "x.rules").read_text() == "#A\n#B"


def test_file_add_refuses_an_existing_destination(tmp_path: Path) -> None:
    (tmp_path / "new-dist.sh").write_text("new")
    tree = make_tree(tmp_path / "src", files={"dist.sh": "upstream"})
    with pytest.raises(OverlayError, match="already exists"):
        apply_overlay(overlay("file-add", file="dist.sh", source=str(tmp_path / "new-dist.sh")), tree)
    assert (tree.root / "dist.sh").read_text() == "upstream"


def test_file_remove_deletes_and_errors_when_absent(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"fedora-only.patch": "x"})
    apply_overlay(overlay("file-remove", file="fedora-only.patch"), tree)
    assert not (tmp_path / "fedora-only.patch").exists()
    with pytest.raises(OverlayError, match="no file matches 'fedora-only.patch'"):
        apply_overlay(overlay("file-remove", file="fedora-only.patch"), tree)


def test_file_remove_inside_archive(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("p-1.0/main.c", b"int main;\n"), ("p-1.0/vendor/lib/a.c", b"a\n"), ("p-1.0/vendor/b.c", b"b\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tree = make_tree(tmp_path, files={"p-1.0.tar.gz": gzip.compress(buffer.getvalue())})
    apply_overlay(overlay("file-remove", archive="p-1.0.tar.gz", file="vendor/**"), tree)
    with tarfile.open(tmp_path / "p-1.0.tar.gz") as tar:
        assert tar.getnames() == ["p-1.0/main.c"]


def test_file_rename(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, files={"EU:MM.patch": "x"})
    apply_overlay(overlay("file-rename", file="EU:MM.patch", replacement="EUMM.patch"), tree)
    assert (tmp_path / "EUMM.patch").read_text() == "x" and not (tmp_path / "EU:MM.patch").exists()
