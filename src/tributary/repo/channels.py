"""Publish channels: which ``repo/<channel>/`` each built RPM goes to, by azldev's rules.

A binary RPM's channel is decided by four layers, later wins, an unset value never overriding:

1. the project's ``default-package-config.publish``;
2. the component's resolved ``publish`` (already inherited through distro, project and group defaults);
3. the one package group whose ``packages`` list the RPM's name;
4. the component's ``packages.<rpm name>.publish``.

Debuginfo packages (``-debuginfo`` or ``-debugsource`` as a whole dash segment) read
``debuginfo-channel`` at every layer and never fall back to ``rpm-channel``; other packages read
``rpm-channel``, else the deprecated ``channel``. A source RPM goes to the component's
``srpm-channel``. No channel, or ``"none"``, means the package is not published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tributary.build.imports import recorded_imports
from tributary.config.model import PublishSettings
from tributary.config.project import Project
from tributary.rpmfile import RpmHeader, read_rpm

NOT_PUBLISHED = "none"

_DEBUG_SEGMENT = re.compile(r"-debug(?:info|source)(?=-|$)")


def is_debuginfo(rpm_name: str) -> bool:
    """``foo-debuginfo``, ``foo-debugsource``, ``kernel-debuginfo-common-x86_64``; not ``elfutils-debuginfod``."""
    return _DEBUG_SEGMENT.search(rpm_name) is not None


def _pick(publish: PublishSettings | None, debuginfo: bool) -> str | None:
    if publish is None:
        return None
    return (publish.debuginfo_channel if debuginfo else publish.effective_rpm_channel) or None


def _published(channel: str | None) -> str | None:
    return None if channel is None or channel == NOT_PUBLISHED else channel


def channel_of(project: Project, component_name: str | None, rpm_name: str) -> str | None:
    """The channel binary RPM ``rpm_name`` of component ``component_name`` is published to, or None.

    ``component_name`` None (an RPM no component claims) leaves only the project default and the
    package groups. An unknown component name is a ConfigError, as everywhere else.
    """
    debuginfo = is_debuginfo(rpm_name)
    channel = _pick(project.default_package_config.publish, debuginfo)
    component = project.resolve(component_name).config if component_name is not None else None
    if component is not None:
        channel = _pick(component.publish, debuginfo) or channel
    for group_name in sorted(project.package_groups):
        group = project.package_groups[group_name]
        if rpm_name in group.packages:
            defaults = group.default_package_config
            channel = _pick(defaults.publish if defaults else None, debuginfo) or channel
            break  # a package belongs to at most one group (checked when the project loads)
    if component is not None:
        override = component.packages.get(rpm_name)
        if override is not None:
            channel = _pick(override.publish, debuginfo) or channel
    return _published(channel)


def srpm_channel_of(project: Project, component_name: str) -> str | None:
    """The channel of a component's source RPM: its ``publish.srpm-channel``, else the project default's."""
    component = project.resolve(component_name).config
    channel = (component.publish.srpm_channel if component.publish else None) or None
    if channel is None and project.default_package_config.publish is not None:
        channel = project.default_package_config.publish.srpm_channel or None
    return _published(channel)


@dataclass
class ChannelPlan:
    """Every RPM given to ``plan_channels``, sorted into channels or set aside with the reason."""

    channels: dict[str, list[RpmHeader]] = field(default_factory=dict)
    unpublished: list[tuple[RpmHeader, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "channels": {name: [r.path.name for r in rpms] for name, rpms in sorted(self.channels.items())},
            "unpublished": [{"rpm": r.path.name, "reason": reason} for r, reason in self.unpublished],
        }


def component_for(project: Project, source_name: str, sources: Mapping[str, str] | None = None) -> str | None:
    """The component that built source package ``source_name``.

    ``sources`` (source package name -> component, from the build stage) wins; otherwise the component
    of that name, else the one whose ``spec.upstream-name`` is that name (its spec keeps upstream's
    ``Name:``). None when no component claims it.
    """
    if sources and source_name in sources:
        return sources[source_name]
    if source_name in project.component_tables:
        return source_name
    for name, table in sorted(project.component_tables.items()):
        if (table.get("spec") or {}).get("upstream-name") == source_name:
            return name
    return None


def plan_channels(project: Project, rpms: Iterable[Path | RpmHeader], *,
                  sources: Mapping[str, str] | None = None) -> ChannelPlan:
    """Read each RPM's header and sort it into its channel (sorted by file name within a channel)."""
    plan = ChannelPlan()
    imported = {item.path for item in recorded_imports(project)}
    for item in rpms:
        info = item if isinstance(item, RpmHeader) else read_rpm(Path(item))
        component = component_for(project, info.source_name, sources)
        if component is None and info.path in imported:
            # Imported by the build from the buildroot's repositories (build.imports): described by
            # the package group that asked for it, or published by the project default.
            channel = channel_of(project, None, info.name)
            if channel is None:
                plan.unpublished.append((info, "no publish channel (unset or \"none\")"))
            else:
                plan.channels.setdefault(channel, []).append(info)
            continue
        if component is None:
            # A left-over of a removed component, or a foreign file: publishing it by the project
            # default would ship something no configuration describes.
            plan.unpublished.append((info, f"no component builds source package {info.source_name!r}"))
            continue
        if info.is_source:
            channel = srpm_channel_of(project, component)
        else:
            channel = channel_of(project, component, info.name)
        if channel is None:
            plan.unpublished.append((info, "no publish channel (unset or \"none\")"))
        else:
            plan.channels.setdefault(channel, []).append(info)
    for infos in plan.channels.values():
        infos.sort(key=lambda r: (r.path.name, str(r.path)))
    plan.unpublished.sort(key=lambda pair: (pair[0].path.name, str(pair[0].path)))
    return plan
