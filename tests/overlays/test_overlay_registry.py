"""The registry: every overlay type the committed schema lists has exactly one handler, and spec
handlers round-trip the file faithfully."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from overlay_kit import SPEC_NAME, make_tree, overlay

from tributary.errors import OverlayError
from tributary.overlays import (
    OVERLAY_MODELS,
    ComponentTree,
    Overlay,
    OverlayType,
    SpecOverlay,
    apply_overlay,
    apply_spec_overlay,
)
from tributary.overlays.base import type_name

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def schema_overlay_types(node: Any) -> set[str]:
    """Every tag of the union on ``type`` that a JSON Schema validates overlays with."""
    found: set[str] = set()
    if isinstance(node, dict):
        discriminator = node.get("discriminator")
        if isinstance(discriminator, dict) and discriminator.get("propertyName") == "type":
            found |= set(discriminator["mapping"])
        for value in node.values():
            found |= schema_overlay_types(value)
    elif isinstance(node, list):
        for value in node:
            found |= schema_overlay_types(value)
    return found


def overlay_classes(base: type[Overlay] = Overlay) -> list[type[Overlay]]:
    return [cls for sub in base.__subclasses__() for cls in (sub, *overlay_classes(sub))]


def test_every_overlay_type_in_the_committed_schema_has_exactly_one_handler() -> None:
    listed = schema_overlay_types(json.loads((SCHEMAS / "azldev.schema.json").read_text()))
    assert listed == schema_overlay_types(json.loads((SCHEMAS / "overlay-file.schema.json").read_text()))
    assert len(listed) >= 17
    defining = Counter(name for cls in overlay_classes() if (name := type_name(cls)) is not None)
    assert {name: defining[name] for name in listed} == dict.fromkeys(listed, 1)
    assert set(defining) == listed == set(OVERLAY_MODELS) == set(OverlayType)
    for name in listed:
        handler = OVERLAY_MODELS[name]
        own = handler.edit is not SpecOverlay.edit if issubclass(handler, SpecOverlay) else handler.apply is not Overlay.apply
        assert own, f"{name}: {handler.__qualname__} neither edits the spec nor applies itself"


def test_every_spec_type_and_both_patch_types_have_a_pure_spec_edit() -> None:
    expected = {kind.value for kind in OverlayType if kind.value.startswith(("spec-", "patch-"))}
    assert {name for name, model in OVERLAY_MODELS.items() if issubclass(model, SpecOverlay)} == expected


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
