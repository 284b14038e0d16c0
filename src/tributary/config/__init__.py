"""Configuration: the azldev TOML layout, read unchanged, merged and resolved into typed models."""

from tributary.config.project import Project, ResolvedComponent, load_project

__all__ = ["Project", "ResolvedComponent", "load_project"]
