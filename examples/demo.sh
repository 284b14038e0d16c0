#!/usr/bin/env bash
# The main job on the bundled example distribution: what `make demo` runs.
#
# 1. make the example upstream (dist-git repositories and a lookaside store) and serve it on loopback;
# 2. resolve and lock every component, render the distribution, explain every change from upstream;
# 3. make a signing key, make the stage-0 repository of this host, build in two bootstrap stages in
#    repository-defined buildroots (SBOMs, signed provenance), publish signed, install with dnf,
#    make and test images (a VM disk booted under qemu), audit packages and images, verify provenance;
# 4. ask what taking the newest upstream would cost;
# 5. write the distribution's website from all of the above, and print where it is.
# Outputs land under the project's output-dir (examples/distro/out) and rendered-specs-dir
# (examples/distro/specs); the upstream is made in examples/distro/build/upstream, and
# examples/distro/build/upstream-mirror.toml reads it by file:// once the server is gone (README's examples).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$here/../.venv/bin/python"
trib="$here/../.venv/bin/trib"
project="$here/distro"
upstream="$project/build/upstream"
reports="$project/out/reports"
port=8741  # the port examples/distro/distro/example-upstream.distro.toml names

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Make the example upstream: dist-git repositories and a lookaside store"
"$python" "$here/upstream/make_upstream.py" "$upstream" --mirror-config "$project/build/upstream-mirror.toml"

step "Serve it on http://127.0.0.1:$port/"
exec 3< <(exec "$python" "$here/serve.py" "$upstream" "$port")
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
read -r ready <&3 || { echo "error: the upstream server did not start (is port $port in use?)" >&2; exit 1; }
echo "$ready"

step "Components of the example distribution"
"$trib" -C "$project" comp list -a

step "Where each setting of greet comes from (file:line)"
"$trib" -C "$project" comp query greet -v

step "Resolve and lock every component (locks/*.lock)"
"$trib" -C "$project" comp update -a

step "Render every component into specs/"
"$trib" -C "$project" comp render -a --clean-stale
"$trib" -C "$project" comp render -a --check

step "Buildable sources of greet: rendered files plus its tarball, fetched over HTTP and verified"
"$trib" -C "$project" comp prep-sources greet -o "$project/build/sources/greet" --force

step "What tributary changed in libgreet, against upstream"
"$trib" -C "$project" --color never comp diff libgreet | head -n 60

step "Every change from upstream must be explained"
"$trib" -C "$project" lint

step "The delta from upstream ($reports/changes.md)"
mkdir -p "$reports"
"$trib" -C "$project" -O markdown report changes > "$reports/changes.md.tmp"
mv "$reports/changes.md.tmp" "$reports/changes.md"
cat "$reports/changes.md"

step "The project's signing key: a throwaway one in a project-local key ring (signs provenance, RPMs, metadata)"
gnupghome="$project/build/gnupg"
trap 'kill "$server" 2>/dev/null || true; gpgconf --homedir "$gnupghome" --kill all 2>/dev/null || true' EXIT
"$trib" -C "$project" repo keygen --gnupghome "$gnupghome" --name "Tributary Example Builders" --email builders@tribex.invalid
export TRIB_GPG_KEY=builders@tribex.invalid TRIB_GNUPGHOME="$gnupghome"

step "Stage 0: this build host's own packages under Fedora's names, a signed repository (made once, then cached)"
"$trib" -C "$project" buildroot stage0

step "Stage 1: every component in roots of stage 0 plus the distribution's tribex-rpm-config (built first)"
"$trib" -C "$project" --config-file "$project/stage1.toml" build -a -j 2

step "Stage 2 (the default): everything again, in roots of stage 0 plus stage 1's packages (SBOMs and signed provenance too)"
"$trib" -C "$project" build -a -j 2
step "A second build finds nothing to do"
"$trib" -C "$project" build -a -j 2
step "A rebuild of stage 2 from scratch gives byte-identical packages"
(cd "$project/out" && sha256sum rpms/*/*.rpm srpms/*.rpm) > "$project/build/stage2.sha256"
"$trib" -C "$project" -q build -a -j 2 --force
(cd "$project/out" && sha256sum --quiet -c "$project/build/stage2.sha256") && echo "all $(wc -l < "$project/build/stage2.sha256") packages identical"

step "Publish signed repositories"
"$trib" -C "$project" repo publish
"$trib" -C "$project" repo check

step "Install greet from the published repository into an empty root (gpgcheck=1, repo_gpgcheck=1)"
root="$project/build/demo-root"
rm -rf "$root" "$project/build/demo-dnf"
mkdir -p "$root" "$project/build/demo-dnf/home" "$project/build/demo-dnf/repos.d"
echo '%_dbpath /usr/lib/sysimage/rpm' > "$project/build/demo-dnf/home/.rpmmacros"
cp "$project"/out/repo/rpm-base/*.repo "$project/build/demo-dnf/repos.d/"
printf '[main]\ninstall_weak_deps=False\ntsflags=nodocs\n' > "$project/build/demo-dnf/dnf.conf"
HOME="$project/build/demo-dnf/home" dnf -y -q --config="$project/build/demo-dnf/dnf.conf" --installroot="$root" \
    --releasever=1.0 --setopt=reposdir="$project/build/demo-dnf/repos.d" \
    install filesystem glibc bash greet greet-data tribex-release </dev/null
for keyring in "$root"/var/cache/dnf/*/pubring; do gpgconf --homedir "$keyring" --kill all 2>/dev/null || true; done
echo "chroot $root /usr/bin/greet:"
chroot "$root" /usr/bin/greet
grep PRETTY_NAME "$root/usr/lib/os-release"

step "Images from the published repositories: container, distroless container, WSL"
for image in container-base container-distroless wsl; do
    "$trib" -C "$project" image build "$image"
    "$trib" -C "$project" image test "$image"
done

step "A VM disk (GPT, ESP, ext4 root; raw, qcow2, Azure fixed VHD), booted under qemu with Debian's kernel"
"$trib" -C "$project" image build vm-base --format raw --format qcow2 --format vhd-fixed
"$trib" -C "$project" image test vm-base --kernel "${TRIB_TEST_KERNEL:-$here/../.cache/test-kernel/current}"

step "The release audit: every ELF file's hardening; each image's SELinux, sysctls, set-id files, FIPS, SBOM"
"$trib" -C "$project" audit rpms -a --report "$project/out/reports/audit-rpms.json"
for image in container-base container-distroless wsl vm-base; do
    "$trib" -C "$project" audit image "$image" --report "$project/out/reports/audit-$image.json"
done

step "SBOMs and signed build provenance (written by build and image build): every component's verified"
for provenance in "$project"/out/sbom/*.provenance.json; do
    "$trib" -C "$project" verify "$provenance" --key "$project/out/repo/rpm-base/RPM-GPG-KEY-tribex"
done

step "What taking the newest upstream would cost"
status=0
"$trib" -C "$project" upstream check || status=$?
[ "$status" -le 1 ] || exit "$status"  # exit 1 means an overlay would break: reported above, not a demo failure

step "The distribution's website: every component, change, build, package, image and audit ($project/out/site)"
site=$("$trib" -C "$project" -q site)
echo "open $site in a browser (file://$site), or serve $(dirname "$site") with any static web server"
