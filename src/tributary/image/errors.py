"""The image stage's errors: bad input for an image, and a configuration script that failed."""

from __future__ import annotations

from tributary.errors import TribError


class ImageError(TribError):
    """An image cannot be made from its description and the published channels."""

class ConfigScriptError(ImageError):
    """The image's configuration script ran and failed; ``output`` is everything it printed."""

    exit_code = 1

    def __init__(self, message: str, *, where: str, output: str):
        super().__init__(message, where=where)
        self.output = output
