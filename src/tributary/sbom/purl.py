"""Package URLs for what a distribution ships, in the shape scanners already match on.

An RPM: ``pkg:rpm/<distro>/<name>@<version>-<release>?arch=<arch>&distro=<distro>-<version>
&epoch=<n>&upstream=<source rpm>`` (qualifiers sorted, ``epoch`` only when not 0, ``upstream`` only for
binary packages), the form syft and Red Hat write, so advisories keyed by the distro namespace apply.
The upstream package a component comes from is an RPM purl in the upstream distro's namespace with a
``vcs_url`` naming the dist-git commit; a lookaside tarball is ``pkg:generic`` with its URL and hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

# Characters purl leaves unencoded in a name, version or qualifier value (RFC 3986 unreserved).
_SAFE = "-._~"


def _encode(value: str, safe: str = _SAFE) -> str:
    return quote(value, safe=safe)


def purl(kind: str, name: str, *, namespace: str | None = None, version: str | None = None,
         qualifiers: Mapping[str, str | None] | None = None) -> str:
    """A canonical purl: lowercase type, encoded parts, empty qualifiers dropped and the rest sorted."""
    out = f"pkg:{kind.lower()}/"
    if namespace:
        out += "/".join(_encode(part) for part in namespace.split("/")) + "/"
    out += _encode(name)
    if version:
        out += "@" + _encode(version, _SAFE + ":")
    pairs = sorted((key.lower(), value) for key, value in (qualifiers or {}).items() if value)
    if pairs:
        out += "?" + "&".join(f"{key}={_encode(value, _SAFE + ':/')}" for key, value in pairs)
    return out


def rpm_purl(distro: str, distro_version: str, name: str, version: str, release: str, arch: str, *,
             epoch: int = 0, source_rpm: str | None = None) -> str:
    """The purl of a binary or source RPM of ``distro`` (``arch="src"`` for a source package)."""
    return purl("rpm", name, namespace=distro, version=f"{version}-{release}",
                qualifiers={"arch": arch, "distro": f"{distro}-{distro_version}",
                            "epoch": str(epoch) if epoch else None, "upstream": source_rpm or None})


def upstream_purl(distro: str, distro_version: str, package: str, *, version: str | None, url: str,
                  commit: str | None) -> str:
    """The upstream source package: its distro's namespace, and the dist-git repository at the commit."""
    vcs = f"git+{url}" + (f"@{commit}" if commit else "")
    return purl("rpm", package, namespace=distro, version=version,
                qualifiers={"arch": "src", "distro": f"{distro}-{distro_version}", "vcs_url": vcs})


def source_purl(filename: str, *, hash_type: str, digest: str, url: str | None) -> str:
    """A lookaside tarball by name, with the hash the ``sources`` file pins and where it is served."""
    return purl("generic", filename, qualifiers={"checksum": f"{hash_type}:{digest}", "download_url": url})
