"""``trib sbom`` and ``trib verify``: SBOMs and signed provenance of what was built, and their check."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.comp import AllOpt, GroupOpt, NamesArg, selected
from tributary.cli.output import Column, emit_rows
from tributary.errors import ConfigError

SignKeyOpt = Annotated[
    str | None, typer.Option("--sign-key", help="Key to sign provenance with (default: TRIB_GPG_KEY; none: unsigned).")
]
GnupgHomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--gnupghome", help="Key ring holding it, or TRIB_GPG_KEY's (default: TRIB_GNUPGHOME, GNUPGHOME, ~/.gnupg)."
    ),
]


def provenance_key(sign_key: str | None = None, gnupghome: Path | None = None, *, to_sign: bool = True):
    """The key that signs provenance, chosen as every signing command chooses it; None: unsigned.

    ``to_sign``: the key must sign unattended (checked now, so a passphrase fails before any work).
    """
    key = common.signing_key(sign_key, gnupghome)
    if key is not None and to_sign:
        key.check_can_sign()
    return key


def report(ctx: typer.Context, written: list, *, unsigned_note: bool) -> None:
    """Print what was written; License problems and a missing signature go to stderr as notes."""
    state = common.settings(ctx)
    for item in written:
        for problem in item.problems:
            print(f"warning: {item.subject}: {problem}", file=sys.stderr)
    components = [item for item in written if item.kind == "component"]
    if unsigned_note and not state.quiet:
        if any(item.provenance_kept for item in components):
            print("note: signed provenance whose packages are unchanged is kept as it is (no signing key given)",
                  file=sys.stderr)
        if any(item.signed_by is None for item in components):
            print("note: provenance is unsigned (set TRIB_GPG_KEY or pass --sign-key to sign it)", file=sys.stderr)
    rows = [{**item.to_json(), "path": str(path)} for item in written for path in item.paths]
    emit_rows(state, rows, [Column("subject", "Subject"), Column("kind", "Kind"), Column("path", "Path")],
              empty="no SBOM written")


def sbom(
    ctx: typer.Context,
    names: NamesArg = None,
    all_components: AllOpt = False,
    group: GroupOpt = None,
    image: Annotated[
        list[str] | None, typer.Option("--image", help="An image's SBOM, from its manifest.json (repeatable).")
    ] = None,
    sign_key: SignKeyOpt = None,
    gnupghome: GnupgHomeOpt = None,
) -> None:
    """Write SBOMs (SPDX 2.3 and CycloneDX 1.6) and signed build provenance to <output-dir>/sbom/.

    For each component: <name>.spdx.json, <name>.cdx.json and <name>.provenance.json (an in-toto
    statement with a SLSA v1 predicate in a DSSE envelope, signed with TRIB_GPG_KEY or --sign-key),
    from its current build: upstream commit, pinned sources, every overlay and why, SRPM and RPMs with
    their sha256. For an image: sbom/images/<name>.spdx.json and .cdx.json, every package of its rpmdb
    (the same documents the image carries in /usr/share/tributary/sbom/). trib build and trib image
    build write these themselves; this command writes them again. See docs/SBOM.md.

    Examples:

      trib sbom greet

      trib sbom -a --sign-key builders@example.org --gnupghome build/gnupg

      trib sbom --image container-base -O json
    """
    from tributary.image.definition import load_image
    from tributary.sbom.write import image_from_manifest, write_component, write_image

    project = common.project(ctx)
    if not (names or all_components or group or image):
        raise ConfigError("nothing selected", hint="name components, use -a, or --image NAME")
    chosen = selected(ctx, names, all_components, group) if (names or all_components or group) else []
    key = provenance_key(sign_key, gnupghome) if chosen else None
    written = [write_component(project, name, key=key) for name in chosen]
    for name in image or []:
        if name not in project.images:
            raise ConfigError(f"no image named {name!r}", hint="list them with 'trib image list'")
        formats = load_image(project, name).spec.formats
        written.append(write_image(project, image_from_manifest(project, name, formats=formats)))
    report(ctx, written, unsigned_note=key is None)


def verify(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A provenance file (<output-dir>/sbom/<component>.provenance.json).")],
    key_file: Annotated[
        Path | None, typer.Option("--key", help="The signer's public key (armored or binary OpenPGP).")
    ] = None,
    gnupghome: GnupgHomeOpt = None,
    sign_key: Annotated[
        str | None, typer.Option("--sign-key", help="Trust this key of the key ring (default: TRIB_GPG_KEY).")
    ] = None,
    artifacts: Annotated[
        list[Path] | None,
        typer.Option(
            "--artifacts",
            help="Directory to find the subjects in (repeatable; default: next to the file and its parent).",
        ),
    ] = None,
    allow_unsigned: Annotated[
        bool,
        typer.Option("--allow-unsigned", help="Accept provenance without a signature (subjects are still checked)."),
    ] = False,
) -> None:
    """Check provenance: the signature by the trusted key, then every subject's sha256; exit 1 if not.

    The trusted key is --key (a public key file, e.g. the one trib repo publish puts next to the
    packages), else --sign-key/TRIB_GPG_KEY in its key ring. Subjects (srpms/..., rpms/<arch>/...)
    are looked for below --artifacts, the directory above the file (the output directory) and beside
    it. The failure reason is one line.

    Examples:

      trib verify out/sbom/greet.provenance.json --key out/repo/rpm-base/RPM-GPG-KEY-tribex

      TRIB_GPG_KEY=builders@example.org trib verify out/sbom/greet.provenance.json

      trib verify greet.provenance.json --artifacts /srv/mirror --allow-unsigned -O json
    """
    from tributary.sbom.provenance import verify as run_verify

    key = provenance_key(sign_key, gnupghome, to_sign=False) if key_file is None else None
    result = run_verify(file, public_key=key_file, key=key, search=artifacts or [], allow_unsigned=allow_unsigned)
    rows = [{"subject": name, "path": str(path), "ok": True, "signer": result.signer or "(unsigned)"}
            for name, path in result.subjects]
    emit_rows(common.settings(ctx), rows, [Column("subject", "Subject"), Column("ok", "Verified"),
                                           Column("signer", "Signed by")],
              title=f"{file}: {'signature and ' if result.signer else ''}{len(rows)} subject(s) verified")
