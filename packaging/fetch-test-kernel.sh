#!/bin/bash
# Unpack Debian's cloud kernel for the VM boot test (`trib image test --kernel DIR`).
#
# The kernel is the exact package that the linux-image-cloud-amd64 metapackage depends on when setup
# first runs; it is fetched with `apt-get download` (never installed) and unpacked with `dpkg-deb -x`
# into DEST/<package>_<version>/, and DEST/current points at it. Once there, nothing is fetched again:
# a second run needs no network. PACKAGE in the unpacked tree records what it is.
set -euo pipefail

dest=${1:?usage: fetch-test-kernel.sh DEST}
meta=linux-image-cloud-amd64

if [ -f "$dest/current/PACKAGE" ] && compgen -G "$dest/current/boot/vmlinuz-*" >/dev/null; then
    exit 0
fi

# awk reads to the end: exiting early would kill apt-cache with SIGPIPE, which pipefail makes fatal.
resolve() { apt-cache depends "$meta" 2>/dev/null | awk '!found && /Depends: linux-image-/ {print $2; found = 1}'; }
package=$(resolve)
if [ -z "$package" ]; then
    # A fresh machine may have no package lists yet.
    ${SUDO:-} apt-get update -q >/dev/null
    package=$(resolve)
fi
[ -n "$package" ] || { echo "fetch-test-kernel: apt knows no $meta" >&2; exit 1; }
version=$(apt-cache show --no-all-versions "$package" | awk '!found && /^Version:/ {print $2; found = 1}')

mkdir -p "$dest"
scratch=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"
(cd "$scratch" && apt-get download -q -o APT::Sandbox::User=root "$package=$version" >/dev/null)
mkdir "$scratch/tree"
dpkg-deb -x "$scratch"/*.deb "$scratch/tree"
compgen -G "$scratch/tree/boot/vmlinuz-*" >/dev/null || { echo "fetch-test-kernel: $package has no boot/vmlinuz-*" >&2; exit 1; }
echo "$package $version" > "$scratch/tree/PACKAGE"

target="${package}_${version}"
rm -rf "${dest:?}/$target"
mv "$scratch/tree" "$dest/$target"
ln -sfn "$target" "$dest/current.new" && mv -T "$dest/current.new" "$dest/current"
echo "fetch-test-kernel: $package $version in $dest/$target"
