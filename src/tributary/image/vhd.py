"""The footer of a fixed VHD: read, checked, and made reproducible.

A fixed VHD (what Azure accepts) is the raw disk followed by a 512-byte footer. qemu-img writes the
footer with the current time and a random UUID, so two conversions of the same disk differ; we set
both from the image (its SOURCE_DATE_EPOCH and a UUID derived from its name) and recompute the
checksum. Layout (big-endian): cookie "conectix" at 0, timestamp (seconds since 2000-01-01 UTC) at 24,
current size at 48, disk type at 60 (2 = fixed), checksum at 64 (ones' complement of the byte sum of
the footer with the checksum field taken as zero), unique id at 68.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

from tributary.image.errors import ImageError

FOOTER_SIZE = 512
COOKIE = b"conectix"
FIXED = 2
VHD_EPOCH = 946684800  # 2000-01-01T00:00:00Z
_TIMESTAMP, _CURRENT_SIZE, _DISK_TYPE, _CHECKSUM, _UNIQUE_ID = 24, 48, 60, 64, 68


@dataclass(frozen=True)
class Footer:
    cookie: bytes
    timestamp: int
    current_size: int
    disk_type: int
    checksum: int
    unique_id: uuid.UUID
    checksum_ok: bool


def checksum(footer: bytes) -> int:
    """The footer checksum: ones' complement of the sum of every byte but the checksum field's."""
    total = sum(footer[:_CHECKSUM]) + sum(footer[_CHECKSUM + 4:])
    return ~total & 0xFFFFFFFF


def parse_footer(footer: bytes) -> Footer:
    if len(footer) != FOOTER_SIZE:
        raise ValueError(f"a VHD footer is {FOOTER_SIZE} bytes, not {len(footer)}")
    stored = struct.unpack_from(">I", footer, _CHECKSUM)[0]
    return Footer(
        cookie=footer[:8], timestamp=struct.unpack_from(">I", footer, _TIMESTAMP)[0] + VHD_EPOCH,
        current_size=struct.unpack_from(">Q", footer, _CURRENT_SIZE)[0],
        disk_type=struct.unpack_from(">I", footer, _DISK_TYPE)[0], checksum=stored,
        unique_id=uuid.UUID(bytes=footer[_UNIQUE_ID:_UNIQUE_ID + 16]), checksum_ok=stored == checksum(footer),
    )


def with_identity(footer: bytes, *, epoch: int, unique_id: uuid.UUID) -> bytes:
    """``footer`` with its timestamp and unique id replaced and the checksum made right again."""
    data = bytearray(footer)
    struct.pack_into(">I", data, _TIMESTAMP, max(epoch - VHD_EPOCH, 0))
    data[_UNIQUE_ID:_UNIQUE_ID + 16] = unique_id.bytes
    struct.pack_into(">I", data, _CHECKSUM, checksum(bytes(data)))
    return bytes(data)


def read_footer(path: Path) -> Footer:
    """The footer at the end of ``path``; ImageError naming the file when it is too short for one."""
    with open(path, "rb") as handle:
        if handle.seek(0, os.SEEK_END) < FOOTER_SIZE:
            raise ImageError(f"{path} is too short to be a VHD ({FOOTER_SIZE}-byte footer)")
        handle.seek(-FOOTER_SIZE, os.SEEK_END)
        return parse_footer(handle.read(FOOTER_SIZE))


def fix_identity(path: Path, *, epoch: int, unique_id: uuid.UUID) -> None:
    """Rewrite the footer of the fixed VHD at ``path`` in place (see ``with_identity``)."""
    with open(path, "r+b") as handle:
        handle.seek(-FOOTER_SIZE, os.SEEK_END)
        footer = handle.read(FOOTER_SIZE)
        if footer[:8] != COOKIE:
            raise ImageError(f"{path} does not end with a VHD footer (qemu-img wrote something else)")
        handle.seek(-FOOTER_SIZE, os.SEEK_END)
        handle.write(with_identity(footer, epoch=epoch, unique_id=unique_id))
