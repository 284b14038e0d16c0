"""``images/<name>/test.json``: what the last ``trib image test`` of an image found, per output format.

``image test`` boots disks and runs containers; its verdict is worth keeping beyond the console, for
release notes and the website. The record sits beside the image's ``manifest.json`` and names that
manifest's sha256, so a reader can tell whether the test was of the build that is there now (an image
build replaces the whole directory, so a rebuilt image also loses its old record). Per format: passed
or failed, each check with what it found, and how long the checks of that format took.
``read_test_record`` is the one typed reader.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tributary.fsutil import atomic_write

TEST_RECORD_NAME = "test.json"
FORMAT = 1


class Verdict(enum.StrEnum):
    """The verdict on one format (or the whole image): every check passed, or one did not."""

    PASSED = "passed"
    FAILED = "failed"

    @classmethod
    def of(cls, ok: bool) -> Verdict:
        return cls.PASSED if ok else cls.FAILED


@dataclass(frozen=True)
class CheckResult:
    """One check of one output: what was checked, whether it held, and what was found."""

    check: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"check": self.check, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class FormatTest:
    """The checks of one output format (``oci``, ``raw``...) and the seconds they took together."""

    format: str
    checks: tuple[CheckResult, ...]
    seconds: float

    @property
    def verdict(self) -> Verdict:
        return Verdict.of(all(check.ok for check in self.checks))

    def to_json(self) -> dict[str, object]:
        return {"format": self.format, "verdict": self.verdict.value, "seconds": round(self.seconds, 2),
                "checks": [check.to_json() for check in self.checks]}


@dataclass(frozen=True)
class ImageTestRecord:
    """An image's last test: ``manifest_sha256`` names the build tested, ``finished`` is epoch seconds."""

    image: str
    manifest_sha256: str
    finished: int
    formats: tuple[FormatTest, ...]

    @property
    def verdict(self) -> Verdict:
        return Verdict.of(all(test.verdict is Verdict.PASSED for test in self.formats))

    def to_json(self) -> dict[str, object]:
        return {"format": FORMAT, "image": self.image, "manifestSha256": self.manifest_sha256,
                "finished": self.finished, "verdict": self.verdict.value,
                "formats": [test.to_json() for test in self.formats]}


def write_test_record(out_dir: Path, record: ImageTestRecord) -> Path:
    """Write ``out_dir/test.json`` atomically (replacing the previous test's); return its path."""
    target = Path(out_dir) / TEST_RECORD_NAME
    atomic_write(target, json.dumps(record.to_json(), indent=2) + "\n", mode=0o644)
    return target


def read_test_record(out_dir: Path) -> ImageTestRecord | None:
    """The image's last test record; None when it was never tested or the record is unreadable."""
    try:
        data = json.loads((Path(out_dir) / TEST_RECORD_NAME).read_text())
        if data.get("format") != FORMAT:
            return None
        return ImageTestRecord(
            image=str(data["image"]),
            manifest_sha256=str(data["manifestSha256"]),
            finished=int(data["finished"]),
            formats=tuple(_format_test(entry) for entry in data["formats"]),
        )
    except (FileNotFoundError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _format_test(data: dict[str, object]) -> FormatTest:
    checks: Sequence[dict[str, object]] = data["checks"]  # type: ignore[assignment]
    return FormatTest(
        format=str(data["format"]),
        checks=tuple(CheckResult(str(c["check"]), bool(c["ok"]), str(c["detail"])) for c in checks),
        seconds=float(data["seconds"]),  # type: ignore[arg-type]
    )
