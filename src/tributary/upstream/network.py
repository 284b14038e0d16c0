"""How long tributary waits on the network: a connect time-out and a read time-out for every request.

A server that accepts a connection and then never answers would otherwise hold a command forever
(urllib's and git's defaults wait without end, or for minutes). Both limits apply to every lookaside
download and every dist-git fetch:

* **connect**: seconds to open the TCP connection (``TRIB_CONNECT_TIMEOUT``, ``--connect-timeout``);
* **read**: seconds without a single byte arriving, once connected (``TRIB_READ_TIMEOUT``,
  ``--read-timeout``). It bounds a stall, not a long transfer: a slow download that keeps moving runs
  to its end.

A request that fails in a way that may pass (a 5xx, a dropped connection) is tried again, up to
``TRIB_NETWORK_ATTEMPTS`` times in all (``--network-retries``, azldev's name; default 3).

The command-line flags set the variables, so worker processes and the programs tributary runs see the
same limits. A request that runs out of time is a temporary failure (``NetworkError``): it is reported
with the URL that stalled, not tried again in the same run, and tried again by the next one.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

from tributary.errors import ConfigError

CONNECT_VARIABLE = "TRIB_CONNECT_TIMEOUT"
READ_VARIABLE = "TRIB_READ_TIMEOUT"
ATTEMPTS_VARIABLE = "TRIB_NETWORK_ATTEMPTS"
DEFAULT_CONNECT = 30.0
DEFAULT_READ = 60.0
DEFAULT_ATTEMPTS = 3
_DEFAULT_PORTS = {"http": 80, "https": 443, "git": 9418, "ssh": 22}


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, and seconds a connection may stay silent, for every network request."""

    connect: float = DEFAULT_CONNECT
    read: float = DEFAULT_READ

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Timeouts:
        """The limits ``TRIB_CONNECT_TIMEOUT`` and ``TRIB_READ_TIMEOUT`` set, else the defaults."""
        env = os.environ if env is None else env
        return cls(seconds(env.get(CONNECT_VARIABLE), CONNECT_VARIABLE, DEFAULT_CONNECT),
                   seconds(env.get(READ_VARIABLE), READ_VARIABLE, DEFAULT_READ))


def seconds(value: str | None, name: str, default: float) -> float:
    """A positive, finite number of seconds from a variable or flag named ``name``; ``default`` if unset."""
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{name}={value!r} is not a positive number of seconds", hint=f"for example {name}=30")
    return number


def attempts(env: Mapping[str, str] | None = None) -> int:
    """How many times a request that may pass is made in all: ``TRIB_NETWORK_ATTEMPTS``, else 3."""
    value = (os.environ if env is None else env).get(ATTEMPTS_VARIABLE, "").strip()
    if not value:
        return DEFAULT_ATTEMPTS
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{ATTEMPTS_VARIABLE}={value!r} is not a whole number of at least 1",
                          hint=f"for example {ATTEMPTS_VARIABLE}=3")
    return int(value)


def check_connect(url: str, timeout: float) -> str | None:
    """Open (and close) a TCP connection to ``url``'s host within ``timeout`` seconds.

    git has no connect time-out of its own (curl waits up to five minutes for a host that drops the
    connection attempt), so a dist-git fetch is preceded by this probe. Returns None when the host
    answered, else why it did not ("no connection within 30 s", "Connection refused"). URLs that go
    through a proxy, and local ones, are not probed: the proxy is what git connects to.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if scheme in ("http", "https") and scheme in getproxies() and not proxy_bypass(parts.hostname):
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        return None  # git will say what is wrong with the port
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except TimeoutError:
        return f"no connection within {timeout:g} s (connect time-out; {CONNECT_VARIABLE})"
    except OSError as error:
        return error.strerror or str(error)
