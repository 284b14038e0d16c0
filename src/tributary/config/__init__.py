"""Configuration: the azldev TOML layout, read unchanged, merged and resolved into typed models."""

from tributary.config.load import load_project
from tributary.config.project import Project, ResolvedComponent

__all__ = ["Project", "ResolvedComponent", "load_project"]
