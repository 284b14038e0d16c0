"""tributary: a downstream RPM distribution made from an upstream one through declarative overlays.

The package is laid out as the pipeline it implements, and data flows one way:
config -> upstream -> spec + overlays -> render -> build -> repo -> image -> sbom, audit.
A stage never imports a later one; ``cli`` is a thin layer on top of all of them. The overlay
*language* (``overlays``: each type's model and edit, over ``spec``) sits beneath ``config``, which
validates overlays with it; applying them is the render stage's work.
"""

__version__ = "0.1.0"
