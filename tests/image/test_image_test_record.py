"""The record `trib image test` leaves beside an image's manifest: written whole, read back typed."""

from __future__ import annotations

import json
from pathlib import Path

from tributary.image.testrecord import (
    TEST_RECORD_NAME,
    CheckResult,
    FormatTest,
    ImageTestRecord,
    Verdict,
    read_test_record,
    write_test_record,
)


def _record() -> ImageTestRecord:
    return ImageTestRecord(
        image="vm-base", manifest_sha256="ab" * 32, finished=1_800_000_000,
        formats=(FormatTest("raw", (CheckResult("qemu-img reads the raw disk", True, "raw, 192 MiB"),
                                    CheckResult("boots the raw disk", True, "up in 2.8 s")), 3.21),
                 FormatTest("qcow2", (CheckResult("boots the qcow2 disk", False, "no power-off within 120 s"),), 120.4)))


def test_a_record_reads_back_as_written_with_a_verdict_per_format(tmp_path: Path) -> None:
    record = _record()
    path = write_test_record(tmp_path, record)
    assert path == tmp_path / TEST_RECORD_NAME and [p.name for p in tmp_path.iterdir()] == [TEST_RECORD_NAME]
    assert read_test_record(tmp_path) == record
    assert [test.verdict for test in record.formats] == [Verdict.PASSED, Verdict.FAILED]
    assert record.verdict is Verdict.FAILED
    data = json.loads(path.read_text())
    assert data["verdict"] == "failed" and [f["verdict"] for f in data["formats"]] == ["passed", "failed"]


def test_no_record_or_a_damaged_one_reads_as_none(tmp_path: Path) -> None:
    assert read_test_record(tmp_path) is None
    (tmp_path / TEST_RECORD_NAME).write_text("{not json")
    assert read_test_record(tmp_path) is None
    data = _record().to_json()
    del data["formats"][0]["checks"][0]["ok"]
    (tmp_path / TEST_RECORD_NAME).write_text(json.dumps(data))
    assert read_test_record(tmp_path) is None
    (tmp_path / TEST_RECORD_NAME).write_text(json.dumps({**_record().to_json(), "format": 99}))
    assert read_test_record(tmp_path) is None
