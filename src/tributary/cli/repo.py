"""``trib repo``: publish the built packages as signed repositories, and check they are closed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.output import Column, emit_rows
from tributary.errors import CheckFailed, ConfigError

app = typer.Typer(help="Publish and check the distribution's package repositories.", no_args_is_help=True)

ChannelOpt = Annotated[list[str] | None, typer.Option("--channel", help="Only this publish channel (repeatable).")]


def _signing_key(sign_key: str | None, gnupghome: Path | None, unsigned: bool):
    if unsigned:
        return None
    key = common.signing_key(sign_key, gnupghome)
    if key is None:
        raise ConfigError(
            "no signing key: repositories are published signed",
            hint="set TRIB_GPG_KEY (and TRIB_GNUPGHOME), pass --sign-key, or --unsigned for a local test repository",
        )
    key.check_can_sign()
    return key


@app.command("publish")
def publish(
    ctx: typer.Context,
    channel: ChannelOpt = None,
    sign_key: Annotated[
        str | None, typer.Option("--sign-key", help="Key to sign with (fingerprint, id or email).")
    ] = None,
    gnupghome: Annotated[
        Path | None,
        typer.Option("--gnupghome", help="Key ring holding it (default: TRIB_GNUPGHOME, GNUPGHOME, ~/.gnupg)."),
    ] = None,
    baseurl: Annotated[
        str | None,
        typer.Option("--baseurl", help="URL clients use, '{channel}' replaced (default: file:// of the channel)."),
    ] = None,
    unsigned: Annotated[
        bool, typer.Option("--unsigned", help="Publish without signatures (local testing only).")
    ] = False,
) -> None:
    """Publish the built RPMs into <output-dir>/repo/<channel>/, signed, with a .repo file for dnf.

    Each channel gets createrepo_c metadata, every RPM and repomd.xml signed, the public key and a
    .repo file (gpgcheck=1, repo_gpgcheck=1). A channel is swapped in whole, so a client never sees
    half a repository. The channel of each package follows default-package-config, the component's
    publish settings, its package group and packages.<name>.

    Examples:

      TRIB_GPG_KEY=builders@example.org trib repo publish

      trib repo publish --sign-key builders@example.org --gnupghome build/gnupg --baseurl 'http://repo.example/{channel}/'

      trib repo publish --channel rpm-base --unsigned
    """
    from tributary.repo.publish import built_rpms
    from tributary.repo.publish import publish as run_publish

    project = common.project(ctx)
    rpms = built_rpms(project)
    if not rpms:
        raise ConfigError(
            f"nothing to publish: no RPMs in {project.output_dir / 'rpms'}", hint="run 'trib build -a' first"
        )
    key = _signing_key(sign_key, gnupghome, unsigned)
    results = run_publish(project, rpms, signing=key, channels=channel or None, baseurl=baseurl)
    emit_rows(common.settings(ctx), [r.to_json() for r in results],
              [Column("channel", "Channel"), Column("packages", "Packages"), Column("signedBy", "Signed by"),
               Column("path", "Path")])


@app.command("check")
def check(
    ctx: typer.Context,
    channel: ChannelOpt = None,
    external: Annotated[
        list[str] | None,
        typer.Option("--external", help="Another repository (path or URL) that may satisfy requirements."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Trust this public key file, not the key the channel's .repo file names."),
    ] = None,
) -> None:
    """Check what dnf would check, then closure; exit 1 if a file would be refused or a Requires unmet.

    First each channel as dnf verifies it: repomd.xml's signature by the key its .repo file names
    (repo_gpgcheck), the size and checksum of every metadata file and package, and each package's
    digests and signature (gpgcheck). A channel dnf would refuse is reported file by file, and its
    closure is not checked (its metadata cannot be trusted). Then closure: every Requires of every
    published package is satisfiable. All channels are checked together unless --channel names some
    (then the others count as external).

    Examples:

      trib repo check

      trib repo check --channel rpm-sdk -O json

      trib repo check --key /etc/pki/rpm-gpg/RPM-GPG-KEY-tribex   # a key obtained elsewhere
    """
    from tributary.repo.closure import check_closure
    from tributary.repo.integrity import check_channel
    from tributary.repo.publish import repo_root

    project = common.project(ctx)
    root = repo_root(project)
    published = sorted(p for p in root.iterdir() if (p / "repodata" / "repomd.xml").is_file()) if root.is_dir() else []
    if not published:
        raise ConfigError(f"no published channel in {root}", hint="run 'trib repo publish' first")
    if key is not None and not key.is_file():
        raise ConfigError(f"--key {key}: no such file")
    chosen = [p for p in published if not channel or p.name in channel]
    damaged = [problem for path in chosen for problem in check_channel(path, trusted_key=key)]
    state = common.settings(ctx)
    if damaged:
        emit_rows(state, [d.to_json() for d in damaged],
                  [Column("repo", "Repository"), Column("file", "File"), Column("reason", "Why dnf refuses it")])
        raise CheckFailed(f"{len(damaged)} file(s) that dnf would refuse, in "
                          f"{', '.join(sorted({Path(d.repo).name for d in damaged}))}")
    others = [p for p in published if p not in chosen]
    problems = check_closure(chosen, external=[*others, *(external or [])])
    emit_rows(
        state,
        [p.to_json() for p in problems],
        [
            Column("package", "Package"),
            Column("requirement", "Needs"),
            Column("repo", "Repository"),
            Column("reason", "Why"),
        ],
        empty=f"verified and closed: dnf would accept every file of {', '.join(p.name for p in chosen)}, and "
              "every requirement is satisfied",
    )
    if problems:
        raise CheckFailed(f"{len(problems)} unsatisfied requirement(s)")


@app.command("keygen")
def keygen(
    ctx: typer.Context,
    gnupghome: Annotated[Path, typer.Option("--gnupghome", help="Key ring to create or reuse (keep the path short).")],
    name: Annotated[str, typer.Option("--name", help="The key's name.")],
    email: Annotated[str, typer.Option("--email", help="The key's email.")],
) -> None:
    """Make (or reuse) a passphrase-less signing key: for demos, CI and local repositories.

    Example:

      trib repo keygen --gnupghome build/gnupg --name 'Example Builders' --email builders@example.org
    """
    from tributary.repo.sign import make_throwaway_key

    key = make_throwaway_key(gnupghome, name, email)
    emit_rows(common.settings(ctx), [{"fingerprint": key.fingerprint, "uid": key.uid, "gnupghome": str(key.gnupghome)}],
              [Column("fingerprint", "Fingerprint"), Column("uid", "User id"), Column("gnupghome", "Key ring")])
