"""Publish channels: the four layers of azldev's resolution, debuginfo names, "none", source RPMs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tributary.config import load_project
from tributary.errors import ConfigError
from tributary.repo.channels import (
    channel_of,
    is_debuginfo,
    plan_channels,
    srpm_channel_of,
)
from tributary.rpmfile import read_rpm


def load(tmp_path: Path, text: str):
    root = tmp_path / "layers"
    root.mkdir()
    (root / "azldev.toml").write_text(textwrap.dedent(text).lstrip())
    return load_project(root)


@pytest.mark.parametrize(("name", "debug"), [
    ("hello-debuginfo", True),
    ("hello-debugsource", True),
    ("kernel-debuginfo-common-x86_64", True),
    ("elfutils-debuginfod", False),
    ("elfutils-debuginfod-client", False),
    ("debuginfo", False),
    ("hello", False),
])
def test_debuginfo_is_a_whole_dash_segment(name, debug):
    assert is_debuginfo(name) is debug


def test_each_layer_overrides_the_one_below_and_unset_values_never_do(tmp_path):
    project = load(tmp_path, """
        [default-package-config.publish]
        rpm-channel = "project"
        debuginfo-channel = "project-debug"
        [default-component-config]
        publish = { rpm-channel = "inherited" }
        [package-groups.grouped]
        packages = ["app-grouped", "app-both", "app-debuginfo", "lib-grouped"]
        default-package-config.publish.channel = "group"
        [components.app]
        publish = { rpm-channel = "component", debuginfo-channel = "component-debug" }
        packages.app-both.publish.rpm-channel = "package"
        packages.app-debuginfo.publish.rpm-channel = "ignored: not a debuginfo setting"
        [components.lib]
        publish = { srpm-channel = "sources" }
        """)
    assert channel_of(project, "app", "app") == "component"  # component beats project default
    assert channel_of(project, "app", "app-grouped") == "group"  # the deprecated 'channel' of a group
    assert channel_of(project, "app", "app-both") == "package"  # per-package override wins
    # debuginfo reads only debuginfo-channel: the group and package rpm settings do not apply
    assert channel_of(project, "app", "app-debuginfo") == "component-debug"
    assert channel_of(project, "lib", "lib") == "inherited"  # from default-component-config
    assert channel_of(project, "lib", "lib-debugsource") == "project-debug"
    assert channel_of(project, "lib", "lib-grouped") == "group"
    assert channel_of(project, None, "stray") == "project"
    assert srpm_channel_of(project, "lib") == "sources"
    assert srpm_channel_of(project, "app") is None


def test_none_and_missing_channels_mean_not_published(tmp_path):
    project = load(tmp_path, """
        [package-groups.hidden]
        packages = ["secret"]
        default-package-config.publish.rpm-channel = "none"
        [components.app]
        publish = { rpm-channel = "base" }
        """)
    assert channel_of(project, "app", "app") == "base"
    assert channel_of(project, "app", "secret") is None
    assert channel_of(project, "app", "app-debuginfo") is None  # no debuginfo-channel anywhere
    with pytest.raises(ConfigError, match="unknown component"):
        channel_of(project, "nope", "nope")


def test_built_rpms_are_sorted_into_channels(project, rpms):
    plan = plan_channels(project, rpms.files.values())
    assert {channel: [r.name for r in infos] for channel, infos in plan.channels.items()} == {
        "rpm-base": ["hello", "libhello", "needy", "needy-files", "needy-rich", "needy-versions"],
        "rpm-sdk": ["hello-devel"],
        "rpm-debuginfo": ["hello-debuginfo"],
        "srpm": ["hello"],
    }
    reasons = {info.path.name: reason for info, reason in plan.unpublished}
    assert reasons["hello-tools-1.0-1.noarch.rpm"].startswith("no publish channel")
    assert reasons["archlib-1-1.aarch64.rpm"] == "no component builds source package 'archlib'"
    assert set(reasons) == {"hello-tools-1.0-1.noarch.rpm", "archlib-1-1.aarch64.rpm", "archapp-1-1.x86_64.rpm"}


def test_source_packages_map_to_components_by_upstream_name_or_by_the_build(tmp_path, rpms):
    project = load(tmp_path, """
        [default-package-config.publish]
        rpm-channel = "base"
        [distros.up]
        default-version = "43"
        [distros.up.versions.43]
        release-ver = "43"
        [components.greeting]
        spec = { type = "upstream", upstream-name = "hello", upstream-distro = { name = "up" } }
        packages.libhello.publish.rpm-channel = "libs"
        """)
    plan = plan_channels(project, rpms.pick("libhello", "archlib.aarch64"))
    assert [r.name for r in plan.channels["libs"]] == ["libhello"]  # hello.spec's Name is upstream's
    plan = plan_channels(project, rpms.pick("archlib.aarch64"), sources={"archlib": "greeting"})
    assert [r.name for r in plan.channels["base"]] == ["archlib"]


def test_rpm_headers_are_read_without_checking_signatures(rpms):
    info = read_rpm(rpms["hello-devel"])
    assert (info.name, info.version, info.release, info.arch, info.source_name) == (
        "hello-devel", "1.0", "1", "noarch", "hello")
    assert info.nevra == "hello-devel-1.0-1.noarch"
    source = read_rpm(rpms["hello.src"])
    assert (source.arch, source.source_name, source.is_source) == ("src", "hello", True)
