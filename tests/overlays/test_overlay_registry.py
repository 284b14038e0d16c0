"""The registry: every overlay type has a handler, and spec handlers round-trip the file faithfully."""

from __future__ import annotations

from pathlib import Path

import pytest
from overlay_kit import SPEC_NAME, make_tree, overlay

from tributary.config.model import OVERLAY_FIELDS, OverlayType
from tributary.errors import OverlayError
from tributary.overlays import (
    OVERLAY_HANDLERS,
    SPEC_EDITS,
    ComponentTree,
    apply_overlay,
    apply_spec_overlay,
)


def test_every_overlay_type_has_a_handler() -> None:
    assert set(OVERLAY_HANDLERS) == {kind.value for kind in OverlayType} == set(OVERLAY_FIELDS)


def test_every_spec_type_and_both_patch_types_have_a_pure_spec_edit() -> None:
    expected = {kind.value for kind in OverlayType if kind.value.startswith(("spec-", "patch-"))}
    assert set(SPEC_EDITS) == expected


def test_apply_spec_overlay_is_pure() -> None:
    text = "Name: x\n"
    assert apply_spec_overlay(text, overlay("spec-add-tag", tag="A", value="b")) == "Name: x\nA: b\n"
    assert text == "Name: x\n"


def test_spec_handler_keeps_mode_crlf_and_undecodable_bytes(tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    spec_path = tmp_path / SPEC_NAME
    spec_path.write_bytes(b"Name: x\r\nSummary: caf\xe9\r\n%description\r\n")
    spec_path.chmod(0o640)
    apply_overlay(overlay("spec-set-tag", tag="Vendor", value="V"), tree)
    assert spec_path.read_bytes() == b"Name: x\r\nSummary: caf\xe9\r\nVendor: V\r\n%description\r\n"
    assert spec_path.stat().st_mode & 0o777 == 0o640


def test_a_failing_spec_overlay_leaves_the_spec_alone(tmp_path: Path) -> None:
    tree = make_tree(tmp_path, "Name: x\n")
    with pytest.raises(OverlayError):
        apply_overlay(overlay("spec-update-tag", tag="Release", value="1"), tree)
    assert (tmp_path / SPEC_NAME).read_text() == "Name: x\n"


def test_missing_spec_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OverlayError, match="spec 'absent.spec' not found"):
        apply_overlay(overlay("spec-add-tag", tag="A", value="b"), ComponentTree(tmp_path, "absent.spec"))
