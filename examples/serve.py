"""Serve a directory over HTTP on 127.0.0.1 for the demo: the example upstream's dist-git and lookaside.

Prints one line once the socket is bound (so the caller can wait on it instead of sleeping), then
serves until killed. Dist-git is served as plain files ("dumb" HTTP), which git reads because
make_upstream.py runs ``git update-server-info`` in every repository.

    python serve.py DIRECTORY PORT
"""

from __future__ import annotations

import functools
import http.server
import sys


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    directory, port = sys.argv[1], int(sys.argv[2])
    handler = functools.partial(QuietHandler, directory=directory)
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        print(f"error: cannot listen on 127.0.0.1:{port}: {error.strerror}", file=sys.stderr, flush=True)
        return 1
    print(f"serving {directory} on http://127.0.0.1:{port}/", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
