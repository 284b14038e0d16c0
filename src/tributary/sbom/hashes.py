"""Hash algorithm names: from a ``sources`` file's (hashlib's, ``sha512``, ``blake2b``) to SPDX's and CycloneDX's.

The two formats each allow a fixed list (SPDX 2.3 ``checksums[].algorithm``, CycloneDX 1.6
``hash-alg``), and name the same algorithm differently (``SHA3-256`` in both, but ``SHA256`` against
``SHA-256``); neither has SHA3-224 or BLAKE2s, and CycloneDX has no SHA-224. A BLAKE2b name carries the
digest size, which hashlib's ``blake2b`` leaves to the digest's length. A hash a format cannot name
is left out of that format (CycloneDX records it as a ``tributary:unlisted-hash`` property), never
written under a made-up name.
"""

from __future__ import annotations

SPDX = "SPDX"
CYCLONEDX = "CycloneDX"

# hashlib's name (lowercase, "-" for "_") -> (SPDX 2.3 name, CycloneDX 1.6 name); None where it has none.
_NAMES: dict[str, tuple[str | None, str | None]] = {
    "md5": ("MD5", "MD5"),
    "sha1": ("SHA1", "SHA-1"),
    "sha224": ("SHA224", None),
    "sha256": ("SHA256", "SHA-256"),
    "sha384": ("SHA384", "SHA-384"),
    "sha512": ("SHA512", "SHA-512"),
    "sha3-224": (None, None),
    "sha3-256": ("SHA3-256", "SHA3-256"),
    "sha3-384": ("SHA3-384", "SHA3-384"),
    "sha3-512": ("SHA3-512", "SHA3-512"),
    "blake3": ("BLAKE3", "BLAKE3"),
    "blake2s": (None, None),
}
_BLAKE2B_BITS = (256, 384, 512)


def _key(hash_type: str) -> str:
    return hash_type.strip().lower().replace("_", "-")


def algorithm(hash_type: str, digest: str, fmt: str) -> str | None:
    """The name ``fmt`` (``SPDX`` or ``CycloneDX``) gives the hash ``hash_type`` (a hashlib name); None if it has none.

    ``digest`` (hex) decides the size of a BLAKE2b hash: ``blake2b`` with 128 hex digits is BLAKE2b-512.
    """
    index = {SPDX: 0, CYCLONEDX: 1}[fmt]
    key = _key(hash_type)
    if key == "blake2b" or key.startswith("blake2b-"):
        bits = int(key.removeprefix("blake2b-")) if key != "blake2b" and key[8:].isdigit() else len(digest) * 4
        return f"BLAKE2b-{bits}" if bits in _BLAKE2B_BITS and len(digest) * 4 == bits else None
    names = _NAMES.get(key)
    return names[index] if names else None
