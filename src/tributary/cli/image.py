"""``trib image``: the images the project defines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tributary.cli import common
from tributary.cli.output import Column, emit_rows
from tributary.cli.progress import status_line
from tributary.errors import CheckFailed, ConfigError
from tributary.globbing import match

app = typer.Typer(help="Inspect and build images.", no_args_is_help=True)


@app.command("list")
def list_images(
    ctx: typer.Context,
    patterns: Annotated[list[str] | None, typer.Argument(metavar="PATTERN...", help="Globs over image names.")] = None,
) -> None:
    """List images with their definition and capabilities.

    With -O json, rows carry azldev's keys (name, description, capabilities, tests, publish,
    definition {type, path}) and tributary's (definitionType, definitionPath, profile, capabilityNames,
    publishChannels).

    Examples:

      trib image list

      trib image list 'container-*' -O json

      trib image list -q -O json | jq -r '.[].definition.path'
    """
    project = common.project(ctx)
    rows = []
    for name in sorted(project.images):
        if patterns and not any(match(pattern, name) for pattern in patterns):
            continue
        image = project.images[name]
        definition = image.definition
        capabilities = image.capabilities.to_json() if image.capabilities else {}
        rows.append(
            {
                "name": name,
                "description": image.description or "",
                "capabilities": capabilities,
                "tests": image.tests.to_json() if image.tests else {"testSuites": []},
                "publish": image.publish.to_json() if image.publish else {"channels": []},
                "definition": definition.to_json() if definition else {},
                "definitionType": definition.type if definition else "",
                "definitionPath": definition.path if definition and definition.path else "",
                "profile": definition.profile if definition and definition.profile else "",
                "capabilityNames": sorted(k for k, v in capabilities.items() if v),
                "publishChannels": image.publish.channels if image.publish else [],
            }
        )
    columns = [
        Column("name", "Image"),
        Column("definitionType", "Type"),
        Column("profile", "Profile"),
        Column("capabilityNames", "Capabilities"),
        Column("description", "Description"),
    ]
    emit_rows(common.settings(ctx), rows, columns)


@app.command("build")
def build(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The image ([images.NAME]).")],
    image_format: Annotated[
        list[str] | None, typer.Option("--format", help="Only this format (repeatable): oci, docker-archive, wsl.")
    ] = None,
    local_repo: Annotated[list[Path] | None, typer.Option(
        "--local-repo", metavar="DIR", help="azldev's flag, ignored with a note: packages come from the "
                                            "project's published channels (trib repo publish).")] = None,
    remote_repo: Annotated[list[str] | None, typer.Option(
        "--remote-repo", metavar="URL", help="azldev's flag, ignored with a note, as --local-repo.")] = None,
    remote_repo_no_gpgcheck: Annotated[bool, typer.Option(
        "--remote-repo-no-gpgcheck", help="azldev's flag, ignored: the published channels are always checked.")
    ] = False,
    remote_repo_include_in_image: Annotated[bool, typer.Option(
        "--remote-repo-include-in-image", help="azldev's flag, ignored: the image's repositories are its own "
                                               "packages' (the distribution's release package).")] = False,
    arch: Annotated[str | None, typer.Option(
        "--arch", help="The architecture to build for: this host's (the only one tributary builds).")] = None,
) -> None:
    """Build an image from the published repositories into <output-dir>/images/<name>/.

    The root filesystem is installed with dnf from the project's published channels (offline, with the
    channels' gpgcheck), config.sh runs inside it in a sandbox, caches are removed and every time
    stamp fixed, so the same packages give the same image. Each image gets manifest.json (formats,
    sizes, sha256, packages with NEVRA). No root-only machinery: no loop devices, no mounts.
    The image's SBOMs (SPDX and CycloneDX, every rpmdb package with its RPM's sha256) are put inside
    it at /usr/share/tributary/sbom/<name>.spdx.json and .cdx.json, and in <output-dir>/sbom/images/.

    Examples:

      trib image build container-base

      trib image build wsl -O json

      trib image build container-base --format oci

      trib image build --local-repo ./base/out container-base    # azldev's spelling: --local-repo is noted
    """
    import platform

    from tributary.image.build import build_image
    from tributary.image.definition import load_image
    from tributary.sbom.write import image_embedder, write_image

    if arch is not None and arch != platform.machine():
        raise ConfigError(f"--arch {arch}: tributary builds images for this host's architecture, "
                          f"{platform.machine()}")
    for flag, given in (("--local-repo", local_repo), ("--remote-repo", remote_repo),
                        ("--remote-repo-no-gpgcheck", remote_repo_no_gpgcheck),
                        ("--remote-repo-include-in-image", remote_repo_include_in_image)):
        if given:
            print(f"note: {flag} ignored: images are installed from the project's published channels "
                  "(trib repo publish puts the built packages there)", file=sys.stderr)
    project = common.project(ctx)
    spec = load_image(project, name).spec
    collected: list = []
    embed = image_embedder(project, version=spec.version, formats=image_format or spec.formats, collected=collected)
    state = common.settings(ctx)
    with status_line(state, f"image {name}") as step:
        result = build_image(project, name, formats=image_format, embed=embed, on_step=step)
    for note in result.notes:
        print(f"note: {name}: {note}", file=sys.stderr)
    for written in [write_image(project, image) for image in collected[-1:]]:
        for problem in written.problems:
            print(f"warning: {name}: {problem}", file=sys.stderr)
        if not state.quiet:
            print(
                f"note: {name}: SBOMs in {written.paths[0].parent}, and in the image at /usr/share/tributary/sbom/",
                file=sys.stderr,
            )
    rows = [
        {"image": name, "imageName": name, "outputDir": str(project.output_dir / "images" / name),
         "format": a.format, "path": str(a.path), "digest": a.digest or ""} for a in result.artifacts
    ]
    emit_rows(
        state,
        rows,
        [Column("format", "Format"), Column("path", "Path"), Column("digest", "Digest")],
        title=f"{name}: {len(result.rootfs.packages)} packages",
    )


@app.command("test")
def test(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The image.")],
    kernel: Annotated[
        Path | None,
        typer.Option(
            "--kernel",
            envvar="TRIB_TEST_KERNEL",
            help="Kernel package unpacked with dpkg-deb -x (boot/vmlinuz-*, lib/modules/*), to boot VM disks "
                 "(default: .cache/test-kernel/current, as make setup fetches it, in the project or a directory "
                 "above).",
        ),
    ] = None,
    boot_timeout: Annotated[
        float, typer.Option("--boot-timeout", min=1, help="Seconds a VM may take to boot, check and power off.")
    ] = 120.0,
    junit_xml: Annotated[Path | None, typer.Option(
        "--junit-xml", metavar="FILE", help="Also write the checks as a JUnit XML report (one test case each).")
    ] = None,
    test_suite: Annotated[list[str] | None, typer.Option(
        "--test-suite", help="azldev's flag, refused: tributary's checks are built in, not test suites.")] = None,
    image_path: Annotated[Path | None, typer.Option(
        "--image-path", "-i", help="azldev's flag, refused: tributary tests the image it built "
                                   "(<output-dir>/images/NAME).")] = None,
) -> None:
    """Check a built image: the container's command runs in a sandbox, skopeo agrees with our manifest,
    the WSL tarball carries its configuration, each VM disk reads back through qemu-img as its format
    and boots under qemu (TCG) to its own shell, which reports its os-release name and powers off;
    exit 1 on a failure. The result, per format, is kept in <output-dir>/images/<name>/test.json
    (beside manifest.json) for trib site and release notes.

    Examples:

      trib image build container-base && trib image test container-base

      trib image test vm-base            # with the kernel make setup fetched

      trib image test vm-base --kernel /srv/kernels/linux-image-6.1.0-cloud-amd64

      trib image test container-base --junit-xml results.xml
    """
    from tributary.image.checks import test_image

    if test_suite or image_path is not None:
        raise ConfigError(f"{'--test-suite' if test_suite else '--image-path'}: tributary runs its built-in checks "
                          "on the image it built", hint=f"trib image build {name}, then trib image test {name}")
    project = common.project(ctx)
    with status_line(common.settings(ctx), f"image {name}") as step:
        record = test_image(project, name, kernel=kernel, boot_timeout=boot_timeout, on_step=step)
    rows = [{"format": test.format, **check.to_json(), "seconds": round(test.seconds, 2)}
            for test in record.formats for check in test.checks]
    if junit_xml is not None:
        from tributary.fsutil import atomic_write

        # One case per check; an image of several formats names each case's format too.
        several = len(record.formats) > 1
        cases = [(f"{test.format}: {check.check}" if several else check.check, check.ok, check.detail)
                 for test in record.formats for check in test.checks]
        atomic_write(junit_xml, junit_report(f"image {name}", cases))
    columns = [Column("format", "Format"), Column("check", "Check"), Column("ok", "Passed"), Column("detail", "Detail")]
    emit_rows(common.settings(ctx), rows, columns)
    failed = sum(not row["ok"] for row in rows)
    if failed:
        raise CheckFailed(f"image {name!r}: {failed} check(s) failed")


def junit_report(suite: str, cases: list[tuple[str, bool, str]]) -> str:
    """A JUnit XML document: one test suite of ``cases`` (name, passed, detail), as CI systems read it."""
    from xml.etree import ElementTree

    root = ElementTree.Element("testsuite", name=suite, tests=str(len(cases)),
                               failures=str(sum(not ok for _, ok, _ in cases)))
    for name, ok, detail in cases:
        case = ElementTree.SubElement(root, "testcase", classname=suite, name=name)
        if not ok:
            ElementTree.SubElement(case, "failure", message=detail).text = detail
        elif detail:
            ElementTree.SubElement(case, "system-out").text = detail
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
