"""Stage 0: a bootstrap RPM repository made from the build host's own packages, offline.

No machine tributary runs on need reach Fedora's repositories: the host's bash, coreutils, gcc,
binutils, glibc, make, rpm-build, perl, python3 and the rest of what a Fedora buildroot holds are
repackaged, under their Fedora names, as signed RPMs with a ``buildsys-build`` comps group. Which
host package becomes which RPM is data (``hostmap.toml``, documented in docs/BUILD.md); only this
package (with ``tools.dpkg``) knows that the host is Debian.

``ensure_stage0`` is the API the build calls; ``trib buildroot stage0`` the command.
"""

from tributary.build.stage0.repository import Signer, Stage0Error, Stage0Repo, default_cache_dir, ensure_stage0

__all__ = ["Signer", "Stage0Error", "Stage0Repo", "default_cache_dir", "ensure_stage0"]
