"""Build provenance: an in-toto Statement v1 with a SLSA Provenance v1 predicate, in a signed DSSE envelope.

Subjects are the SRPM and RPMs of one component's build, named by their path below the output
directory (``srpms/...``, ``rpms/<arch>/...``) with their sha256. Materials
(``resolvedDependencies``): the upstream dist-git commit, every lookaside tarball by its pinned hash,
each patch file the distribution adds, the component's configuration fingerprint (its lock's
``input-fingerprint``) and the host toolchain's versions, as the build recorded them in its build-cache
stamp (a build that recorded none gets the versions installed now, and says so). The builder is
tributary's sandboxed rpmbuild, with its own version and the toolchain's in ``builder.version``.

Signing: DSSE's pre-authentication encoding (PAE) of the payload is signed by gpg with the project's
key (a binary detached OpenPGP signature, base64 in ``signatures[].sig``, the key's fingerprint as
``keyid``), dated at the build's SOURCE_DATE_EPOCH so the same build signs to the same bytes.
Without a key the envelope has no signatures and ``verify`` refuses it unless told to accept that.
A write without a key never replaces a signed envelope (``tributary.sbom.write``): ``signed_subjects``
tells what the signed one covers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tributary import __version__
from tributary.errors import CheckFailed
from tributary.repo.sign import SigningKey
from tributary.sbom.jsonout import dump
from tributary.sbom.model import Component
from tributary.sbom.spdx import timestamp
from tributary.tools import gpg
from tributary.upstream.fingerprint import file_sha256

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:tributary:build-type:rpm:v1"
"""What ``buildDefinition`` means: docs/SBOM.md describes this build type's parameters."""
BUILDER_ID = "urn:tributary:builder:rpmbuild-bubblewrap"


class VerifyFailed(CheckFailed):
    """A provenance file does not verify: bad or missing signature, or a subject that does not match."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding: what is signed, binding the payload to its type."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


TOOLCHAIN_UNRECORDED = ("the build did not record its toolchain (built before tributary recorded it): "
                        "these are the versions installed when the provenance was written")


def statement(component: Component, subjects: Sequence[tuple[str, str]], *,
              toolchain: Mapping[str, str], toolchain_recorded: bool = True,
              buildroot: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The in-toto statement of one component's build; ``subjects`` are (name, sha256) pairs.

    ``toolchain`` is the host programs' versions the build ran with, as the build cache recorded them;
    ``toolchain_recorded=False`` says they were read later instead, which each toolchain entry notes.
    ``buildroot`` is the root the build ran in, as the build cache recorded it: its repositories, each
    pinned by the sha256 of its ``repomd.xml``, and every package installed in it, so a build elsewhere
    from the same repositories is known to be the same build.
    """
    dependencies: list[dict[str, Any]] = []
    upstream = component.upstream
    if upstream is not None:
        entry: dict[str, Any] = {"name": f"upstream:{upstream.package}", "uri": upstream.vcs}
        if upstream.commit:
            entry["digest"] = {"gitCommit": upstream.commit}
        entry["annotations"] = {"distro": f"{upstream.distro} {upstream.distro_version}", "branch": upstream.branch}
        dependencies.append(entry)
    for source in component.sources:
        entry = {"name": f"source:{source.filename}", "digest": {source.hash_type: source.digest}}
        if source.url:
            entry["uri"] = source.url
        dependencies.append(entry)
    for patch in component.patches:
        dependencies.append({"name": f"patch:{patch.filename}", "digest": {"sha256": patch.sha256},
                             **({"annotations": {"overlay": patch.overlay}} if patch.overlay else {})})
    if component.fingerprint:
        algorithm, _, value = component.fingerprint.partition(":")
        dependencies.append({"name": "config-fingerprint", "uri": f"urn:tributary:config:{component.name}",
                             "digest": {algorithm: value}})
    for program, version in sorted(toolchain.items()):
        entry = {"name": f"toolchain:{program}", "uri": f"pkg:generic/{program}@{version}"}
        if not toolchain_recorded:
            entry["annotations"] = {"note": TOOLCHAIN_UNRECORDED}
        dependencies.append(entry)
    dependencies += buildroot_dependencies(buildroot or {})
    changes = component.changes
    internal: dict[str, Any] = {"overlays": len(changes.overlays)}
    if buildroot and buildroot.get("key"):
        internal["buildroot"] = buildroot["key"]
    if not toolchain_recorded:
        internal["toolchainRecordedAtBuild"] = False
    if changes.build_macros:
        internal["buildOptions"] = dict(sorted(changes.build_macros.items()))
    if changes.check_skipped:
        internal["checkSkipped"] = changes.check_skipped
    external: dict[str, Any] = {"component": component.name,
                                "distro": f"{component.distro.id} {component.distro.version}"}
    if component.fingerprint:
        external["configFingerprint"] = component.fingerprint
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": digest}} for name, digest in subjects],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": internal,
                "resolvedDependencies": dependencies,
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID, "version": {"tributary": __version__, **dict(sorted(toolchain.items()))}},
                "metadata": {"finishedOn": timestamp(component.created)},
            },
        },
    }


def buildroot_dependencies(buildroot: Mapping[str, Any]) -> list[dict[str, Any]]:
    """resolvedDependencies for a build's root: each repository by its metadata checksum, each package
    installed by its NEVRA (``pkg:rpm`` purl)."""
    entries: list[dict[str, Any]] = []
    for repo in buildroot.get("repos", []):
        entries.append({"name": f"buildroot-repository:{repo['id']}", "uri": repo["url"],
                        "digest": {"sha256": repo["repomdSha256"]}})
    for nevra in buildroot.get("installed", []):
        name, version, release, arch = _split_nevra(nevra)
        entries.append({"name": f"buildroot-package:{nevra}", "uri": f"pkg:rpm/{name}@{version}-{release}?arch={arch}"})
    return entries


def _split_nevra(nevra: str) -> tuple[str, str, str, str]:
    """``glibc-2.36-1.stage0.x86_64`` -> ``('glibc', '2.36', '1.stage0', 'x86_64')`` (an epoch stays on the version)."""
    rest, _, arch = nevra.rpartition(".")
    rest, _, release = rest.rpartition("-")
    name, _, version = rest.rpartition("-")
    return name, version, release, arch


def envelope(statement_data: Mapping[str, Any], *, key: SigningKey | None, when: int,
             previous: Path | None = None) -> bytes:
    """The DSSE envelope of ``statement_data``, signed with ``key`` at ``when`` (unsigned without one).

    ``previous`` is where the envelope goes: when the one there already holds this statement, signed by
    ``key`` alone (or unsigned, without one), its bytes are returned as they are, so that a build which
    changed nothing signs nothing (a gpg call per component, thousands of them)."""
    payload = json.dumps(statement_data, separators=(",", ":"), ensure_ascii=False).encode()
    if previous is not None:
        kept = _same_envelope(previous, payload, [key.fingerprint] if key is not None else [])
        if kept is not None:
            return kept
    signatures = []
    if key is not None:
        signature = gpg.sign_data(key.gnupghome, key.fingerprint, pae(PAYLOAD_TYPE, payload),
                                  timestamp=key.signing_time(when))
        signatures.append({"keyid": key.fingerprint, "sig": base64.b64encode(signature).decode()})
    data = {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(), "signatures": signatures}
    return dump(data)


def _same_envelope(path: Path, payload: bytes, keyids: list[str]) -> bytes | None:
    """The bytes of the envelope at ``path`` when it carries ``payload`` signed by exactly ``keyids``."""
    try:
        content = path.read_bytes()
        data, existing, _decoded = parse_envelope(content, path)
    except (VerifyFailed, OSError):
        return None
    signatures = data.get("signatures")
    if existing != payload or not isinstance(signatures, list):
        return None
    signers = [entry.get("keyid") for entry in signatures if isinstance(entry, dict)]
    return content if signers == keyids and len(signers) == len(signatures) else None


@dataclass
class Verified:
    """What ``verify`` checked: the signer (None when unsigned was accepted) and each subject's file."""

    signer: str | None
    subjects: list[tuple[str, Path]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"signer": self.signer, "subjects": [{"name": n, "path": str(p)} for n, p in self.subjects]}


def read_envelope(path: Path) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """The envelope, its payload bytes and the statement they decode to; VerifyFailed if malformed."""
    try:
        content = Path(path).read_bytes()
    except FileNotFoundError as error:
        raise VerifyFailed(f"{path}: no such file") from error
    return parse_envelope(content, path)


def parse_envelope(content: bytes, path: Path) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """``read_envelope`` for the bytes ``content`` read from ``path``."""
    try:
        data = json.loads(content)
        payload = base64.b64decode(data["payload"], validate=True)
        decoded = json.loads(payload)
    except (ValueError, KeyError, TypeError) as error:
        raise VerifyFailed(f"{path}: not a DSSE envelope of an in-toto statement ({error})") from error
    if data.get("payloadType") != PAYLOAD_TYPE or not isinstance(decoded, dict):
        raise VerifyFailed(f"{path}: payloadType is {data.get('payloadType')!r}, expected {PAYLOAD_TYPE}")
    if decoded.get("_type") != STATEMENT_TYPE:
        raise VerifyFailed(f"{path}: statement type is {decoded.get('_type')!r}, expected {STATEMENT_TYPE}")
    return data, payload, decoded


@contextlib.contextmanager
def public_key_ring(public_key: Path) -> Iterator[Path]:
    """A throw-away key ring holding the keys of ``public_key`` (an exported OpenPGP key file), removed
    with its gpg-agent on leaving. Checking many envelopes against one ring imports the key once: the
    import, not the check, is most of a check's time."""
    with tempfile.TemporaryDirectory(prefix="trib-keys-") as scratch:
        home = Path(scratch) / "keys"
        try:
            try:
                gpg.import_keys(home, Path(public_key).read_bytes())
            except (OSError, gpg.GpgError) as error:
                raise VerifyFailed(f"{public_key}: cannot read the public key: {error}") from error
            yield home
        finally:
            # The import started a gpg-agent for the throwaway key ring; it must not outlive it.
            gpg.stop_agent(home)


@dataclass(frozen=True)
class SignedEnvelope:
    """What an existing signed provenance file vouches for: its signers' key ids and its subjects."""

    keyids: tuple[str, ...]
    subjects: frozenset[tuple[str, str]]  # (name, sha256)


def signed_subjects(path: Path) -> SignedEnvelope | None:
    """The signers and subjects of the signed provenance at ``path``; None when there is no file, or it
    is unsigned or no readable envelope (nothing worth keeping). The signatures are not checked:
    ``verify`` does that, with the key the reader trusts."""
    try:
        data, _payload, decoded = read_envelope(path)
    except VerifyFailed:
        return None
    signatures = data.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        return None
    subjects = frozenset((str(item.get("name", "")), str((item.get("digest") or {}).get("sha256", "")))
                         for item in decoded.get("subject") or [] if isinstance(item, dict))
    return SignedEnvelope(tuple(str(entry.get("keyid", "")) for entry in signatures if isinstance(entry, dict)),
                          subjects)


def verify(path: Path, *, public_key: Path | None = None, key: SigningKey | None = None,
           key_ring: Path | None = None, search: Sequence[Path] = (), allow_unsigned: bool = False) -> Verified:
    """Check the envelope at ``path``: a good signature by the trusted key, then every subject's sha256.

    The trusted key is any key of ``key_ring`` (one ``public_key_ring`` made), else ``public_key`` (an
    exported OpenPGP key file), else ``key`` (the project's signing key in its key ring). Subject files
    are looked for, by their name and then their file name, below ``search``, the directory above the
    envelope (the output directory, for ``<output-dir>/sbom/``) and the envelope's own directory.
    Raises VerifyFailed with one line.
    """
    data, payload, decoded = read_envelope(path)
    signatures = data.get("signatures") or []
    signer = None
    if not signatures:
        if not allow_unsigned:
            raise VerifyFailed(f"{path}: the provenance is not signed")
    else:
        signer = _check_signatures(path, signatures, pae(PAYLOAD_TYPE, payload), public_key=public_key, key=key,
                                   key_ring=key_ring)
    subjects = decoded.get("subject") or []
    if not subjects:
        raise VerifyFailed(f"{path}: the statement has no subjects")
    bases = [*search, Path(path).resolve().parent.parent, Path(path).resolve().parent]
    result = Verified(signer)
    for subject in subjects:
        name = str(subject.get("name", ""))
        expected = (subject.get("digest") or {}).get("sha256")
        if not name or not expected:
            raise VerifyFailed(f"{path}: a subject has no name or sha256 digest")
        found = _locate(name, bases)
        if found is None:
            raise VerifyFailed(f"{path}: subject {name} not found (looked in {', '.join(str(b) for b in bases)})")
        actual = file_sha256(found)
        if actual != expected:
            raise VerifyFailed(f"{path}: subject {name} does not match: {found} has sha256 {actual}, "
                               f"the provenance says {expected}")
        result.subjects.append((name, found))
    return result


def _locate(name: str, bases: Sequence[Path]) -> Path | None:
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        return None
    for candidate in [base / relative for base in bases] + [base / relative.name for base in bases]:
        if candidate.is_file():
            return candidate
    return None


def _check_signatures(path: Path, signatures: Sequence[Mapping[str, Any]], signed: bytes, *,
                      public_key: Path | None, key: SigningKey | None, key_ring: Path | None) -> str:
    if key_ring is not None:
        return _check_with(path, signatures, signed, key_ring, None)
    if public_key is not None:
        with public_key_ring(public_key) as home:
            return _check_with(path, signatures, signed, home, None)
    if key is not None:
        return _check_with(path, signatures, signed, key.gnupghome, key.fingerprint)
    raise VerifyFailed(f"{path}: no key to verify the signature with",
                       hint="pass --key PUBLIC-KEY-FILE, or set TRIB_GPG_KEY (and TRIB_GNUPGHOME)")


def _check_with(path: Path, signatures: Sequence[Mapping[str, Any]], signed: bytes, home: Path,
                trusted: str | None) -> str:
    problems = []
    for entry in signatures:
        try:
            signature = base64.b64decode(str(entry.get("sig", "")), validate=True)
            signer = gpg.verify_data(home, signature, signed)
        except (ValueError, gpg.GpgError) as error:
            problems.append(str(error).splitlines()[0])
            continue
        if trusted is not None and signer.upper() != trusted.upper():
            problems.append(f"signed by {signer}, not by the trusted key {trusted}")
            continue
        return signer
    raise VerifyFailed(f"{path}: signature check failed: {'; '.join(problems)}")
