"""Audit a built image as it ships: SELinux, hardening sysctls, set-id and world-writable files, FIPS
readiness, and the rpm database against the image's embedded SBOM.

The artifact itself is read (``audit.imagetree``): what is audited is exactly what a user downloads,
including anything a configuration script or a later stage added to the root. This module holds the
checks, each a function of the image's files.
"""

from __future__ import annotations

import json
import posixpath
import re
import stat
from datetime import date
from urllib.parse import unquote

from tributary.audit.imagetree import RPMDB_DIRS, ImageTree, installed_packages, open_image
from tributary.audit.policy import apply_policy
from tributary.audit.report import Finding, Report, Status
from tributary.config import Project
from tributary.config.model import AuditConfig
from tributary.globbing import match
from tributary.sbom import EMBED_DIR
from tributary.tools.rpm import InstalledRpm

SELINUX_CONFIG = "/etc/selinux/config"

# sysctl key -> the weakest acceptable value (each is "at least"; randomize_va_space=2 is full ASLR).
REQUIRED_SYSCTLS = {
    "kernel.randomize_va_space": 2,
    "kernel.kptr_restrict": 1,
    "kernel.dmesg_restrict": 1,
    "kernel.yama.ptrace_scope": 1,
    "kernel.unprivileged_bpf_disabled": 1,
    "fs.protected_hardlinks": 1,
    "fs.protected_symlinks": 1,
    "fs.protected_fifos": 1,
    "fs.protected_regular": 1,
}
# systemd-sysctl's directories, lowest precedence last: a file name found earlier in this list hides
# the same name later (an administrator's /etc file replaces the vendor's /usr/lib one).
SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d")

OPENSSL_CONFIGS = ("/etc/pki/tls/openssl.cnf", "/etc/ssl/openssl.cnf")
CRYPTO_POLICY_CONFIG = "/etc/crypto-policies/config"
CRYPTO_POLICY_FIPS = "/usr/share/crypto-policies/policies/FIPS.pol"
CRYPTO_POLICY_BACKENDS = "/etc/crypto-policies/back-ends/"


# ---------------------------------------------------------------------------------------------------
# The checks


def _key_values(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")) and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip('"')
    return values


def check_selinux(tree: ImageTree, packages: list[InstalledRpm] | None, policy_package: str | None) -> list[Finding]:
    raw = tree.read(SELINUX_CONFIG)
    if raw is None:
        config: dict[str, str] = {}
        first = Finding(
            "selinux-config", SELINUX_CONFIG, Status.FAIL, f"no {SELINUX_CONFIG}: SELinux is not configured"
        )
    else:
        config = _key_values(raw.decode(errors="replace"))
        mode, kind = config.get("SELINUX", ""), config.get("SELINUXTYPE", "")
        if mode != "enforcing":
            first = Finding(
                "selinux-config", SELINUX_CONFIG, Status.FAIL, f"SELINUX={mode or '(unset)'}, not enforcing"
            )
        elif not kind:
            first = Finding("selinux-config", SELINUX_CONFIG, Status.FAIL, "SELINUX=enforcing but no SELINUXTYPE")
        else:
            first = Finding("selinux-config", SELINUX_CONFIG, Status.PASS, f"SELINUX=enforcing, SELINUXTYPE={kind}")
    if policy_package is None:
        second = Finding(
            "selinux-policy", "", Status.NA, "the audit policy names no SELinux policy package for this image"
        )
    else:
        names = {p.name for p in packages or []}
        kind = config.get("SELINUXTYPE", "")
        policy_dir = f"/etc/selinux/{kind}" if kind else ""
        if policy_package not in names:
            second = Finding("selinux-policy", "", Status.FAIL, f"policy package {policy_package} is not installed")
        elif not policy_dir or tree.resolve(policy_dir) is None:
            second = Finding(
                "selinux-policy",
                "",
                Status.FAIL,
                f"{policy_package} is installed but {policy_dir or 'the SELINUXTYPE directory'} is missing",
            )
        else:
            second = Finding("selinux-policy", "", Status.PASS, f"{policy_package} installed, {policy_dir} present")
    return [first, second]


def effective_sysctls(tree: ImageTree) -> dict[str, tuple[str, str]]:
    """Every sysctl the image's files set: key (dotted) -> (value, the file that sets it), as
    systemd-sysctl applies them: files by name across SYSCTL_DIRS, then /etc/sysctl.conf last."""
    chosen: dict[str, str] = {}
    for directory in SYSCTL_DIRS:
        for name in tree.listdir(directory):
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = f"{directory}/{name}"
    files = [chosen[name] for name in sorted(chosen)] + ["/etc/sysctl.conf"]
    values: dict[str, tuple[str, str]] = {}
    for path in files:
        content = tree.read(path)
        if content is None:
            continue
        for key, value in _key_values(content.decode(errors="replace")).items():
            key = key.lstrip("-").replace("/", ".")
            values[key] = (value, path)
    return values


def check_sysctl(tree: ImageTree) -> list[Finding]:
    values = effective_sysctls(tree)
    problems, good = [], []
    for key, minimum in REQUIRED_SYSCTLS.items():
        value, where = values.get(key, ("", ""))
        if not value:
            problems.append(f"{key} not set")
        elif not value.isdigit() or int(value) < minimum:
            problems.append(f"{key}={value} ({where}; needs >= {minimum})")
        else:
            good.append(where)
    if problems:
        return [Finding("sysctl", "", Status.FAIL, "; ".join(problems))]
    return [Finding("sysctl", "", Status.PASS, f"all {len(REQUIRED_SYSCTLS)} set in {', '.join(sorted(set(good)))}")]


def check_setid(tree: ImageTree, allow: list[str]) -> list[Finding]:
    findings = []
    for path, info in tree.files():
        if not info.isreg() or not info.mode & (stat.S_ISUID | stat.S_ISGID):
            continue
        bits = "/".join(b for b, m in (("setuid", stat.S_ISUID), ("setgid", stat.S_ISGID)) if info.mode & m)
        allowed = next((pattern for pattern in allow if match(pattern, path)), None)
        if allowed:
            findings.append(
                Finding("setuid", path, Status.PASS, f"{bits} {oct(info.mode & 0o7777)}, allowed by {allowed!r}")
            )
        else:
            findings.append(
                Finding("setuid", path, Status.FAIL, f"{bits} {oct(info.mode & 0o7777)}, not in setuid-allow")
            )
    return findings or [Finding("setuid", "", Status.PASS, "no set-user-ID or set-group-ID files")]


def check_world_writable(tree: ImageTree) -> list[Finding]:
    findings = []
    for path, info in tree.files():
        if not (info.isreg() or info.isdir() or info.islnk()) or not info.mode & stat.S_IWOTH:
            continue  # symbolic links are 0777 by nature; devices (/dev/null), FIFOs and sockets are meant to be
        if info.isdir() and info.mode & stat.S_ISVTX:
            continue  # /tmp-like: anyone may create, only owners may remove
        kind = "directory without the sticky bit" if info.isdir() else "file"
        findings.append(
            Finding("world-writable", path, Status.FAIL, f"world-writable {kind} ({oct(info.mode & 0o7777)})")
        )
    return findings or [
        Finding("world-writable", "", Status.PASS, "no world-writable files; writable directories are sticky")
    ]


def check_fips(tree: ImageTree) -> list[Finding]:
    """FIPS readiness: what the image needs to run in FIPS mode is there, where crypto is there at all.

    A crypto-policies image must offer the FIPS policy; an image with OpenSSL 3 must carry its FIPS
    provider module and an OpenSSL configuration that can load it. An image with neither has no
    system crypto to certify: n/a.
    """
    problems, evidence = [], []
    policy = tree.read(CRYPTO_POLICY_CONFIG)
    fips_policy = policy is not None and tree.resolve(CRYPTO_POLICY_FIPS) is not None
    if policy is not None:
        current = policy.decode(errors="replace").strip() or "(empty)"
        if not fips_policy:
            problems.append(f"crypto policy {current} and no FIPS policy to switch to")
        else:
            evidence.append(f"crypto policy {current}, FIPS available")
    libcrypto = [path for path, _ in tree.files() if re.search(r"/libcrypto\.so\.3$", path)]
    if libcrypto:
        modules = [path for path, _ in tree.files() if re.search(r"/ossl-modules/fips\.so$", path)]
        config = next((path for path in OPENSSL_CONFIGS if tree.read(path) is not None), None)
        if not modules:
            problems.append(f"OpenSSL 3 ({libcrypto[0]}) without its FIPS provider (ossl-modules/fips.so)")
        elif config is None:
            problems.append("OpenSSL FIPS provider present but no openssl.cnf to load it")
        else:
            how = openssl_fips_configuration(
                (tree.read(config) or b"").decode(errors="replace"), fips_policy=fips_policy
            )
            if how is None:
                problems.append(f"{config} neither includes a FIPS module configuration nor activates the provider")
            else:
                evidence.append(f"OpenSSL FIPS provider {modules[0]}, {how} in {config}")
    if problems:
        return [Finding("fips", "", Status.FAIL, "; ".join(problems))]
    if not evidence:
        return [Finding("fips", "", Status.NA, "no crypto policy and no OpenSSL 3 in the image")]
    return [Finding("fips", "", Status.PASS, "; ".join(evidence))]


_ACTIVATED = ("1", "yes", "true", "on")


def openssl_fips_configuration(text: str, *, fips_policy: bool = False) -> str | None:
    """How an openssl.cnf loads the FIPS provider, or None when it does not.

    Comments (``#`` to the end of the line) do not count, so upstream's stock file, which mentions
    FIPS only in commented-out examples, is not configured. Configured means an ``.include`` of a
    file whose name contains ``fips`` (a distribution's ``fipsmodule.cnf``), or a ``fips = <section>``
    reference to a section that sets ``activate = 1``, or (``fips_policy``: the image offers the
    crypto-policies FIPS policy) an ``.include`` of the crypto-policies OpenSSL back-end, which that
    policy switches to FIPS.
    """
    sections: dict[str, dict[str, str]] = {"": {}}
    current = ""
    includes: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            sections.setdefault(current, {})
        elif line.startswith(".include"):
            includes.append(line.removeprefix(".include").strip().lstrip("=").strip().strip('"'))
        elif "=" in line:
            key, _, value = line.partition("=")
            sections[current][key.strip()] = value.strip().strip('"')
    included = next((path for path in includes if "fips" in posixpath.basename(path.rstrip("/")).lower()), None)
    if included:
        return f"included from {included}"
    if fips_policy:
        backend = next((path for path in includes if path.startswith(CRYPTO_POLICY_BACKENDS)), None)
        if backend:
            return f"by the crypto policy through {backend}"
    for values in sections.values():
        target = values.get("fips")
        if target is not None and sections.get(target, {}).get("activate", "").lower() in _ACTIVATED:
            return f"activated in [{target}]"
    return None


def sbom_packages(document: dict) -> set[InstalledRpm]:
    """The binary RPMs an SPDX 2.3 document lists, from each package's ``pkg:rpm`` purl."""
    found = set()
    for package in document.get("packages", []):
        for ref in package.get("externalRefs", []):
            locator = str(ref.get("referenceLocator", ""))
            if ref.get("referenceType") != "purl" or not locator.startswith("pkg:rpm/"):
                continue
            parsed = _rpm_purl(locator)
            if parsed is not None and parsed.arch != "src":
                found.add(parsed)
    return found


def _rpm_purl(locator: str) -> InstalledRpm | None:
    body, _, query = locator.removeprefix("pkg:rpm/").partition("?")
    path, _, version = body.partition("@")
    name = unquote(path.rsplit("/", 1)[-1])
    version, _, release = unquote(version).rpartition("-")
    qualifiers = dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)
    if not name or not version:
        return None
    epoch = unquote(qualifiers.get("epoch", "0"))
    return InstalledRpm(name, int(epoch) if epoch.isdigit() else 0, version, release,
                        unquote(qualifiers.get("arch", "")))


def check_sbom(tree: ImageTree, name: str, packages: list[InstalledRpm] | None) -> list[Finding]:
    wanted = f"{EMBED_DIR}/{name}.spdx.json"
    content = tree.read(wanted)
    if content is None:
        others = [n for n in tree.listdir(EMBED_DIR) if n.endswith(".spdx.json")]
        if len(others) == 1:
            wanted = f"{EMBED_DIR}/{others[0]}"
            content = tree.read(wanted)
    if content is None:
        return [Finding("sbom-rpmdb", wanted, Status.FAIL, f"image has no embedded SBOM at {wanted}")]
    if packages is None:
        return [Finding("sbom-rpmdb", wanted, Status.FAIL, f"image has no rpm database ({' or '.join(RPMDB_DIRS)})")]
    try:
        listed = sbom_packages(json.loads(content))
    except (ValueError, AttributeError, TypeError) as error:
        return [Finding("sbom-rpmdb", wanted, Status.FAIL, f"the SBOM is not SPDX JSON: {error}")]
    installed = set(packages)
    missing = sorted(installed - listed)
    extra = sorted(listed - installed)
    if missing or extra:
        parts = []
        if missing:
            parts.append("installed but not in the SBOM: " + ", ".join(p.nevra for p in missing))
        if extra:
            parts.append("in the SBOM but not installed: " + ", ".join(p.nevra for p in extra))
        return [Finding("sbom-rpmdb", wanted, Status.FAIL, "; ".join(parts))]
    return [Finding("sbom-rpmdb", wanted, Status.PASS, f"the rpmdb's {len(installed)} packages, exactly")]


def audit_tree(tree: ImageTree, name: str, policy: AuditConfig) -> list[Finding]:
    """Raw findings (pass, fail, n/a) for every image check on one image's files."""
    packages = installed_packages(tree)
    image_policy = policy.images.get(name)
    return [
        *check_selinux(tree, packages, image_policy.selinux_policy_package if image_policy else None),
        *check_sysctl(tree),
        *check_setid(tree, policy.setuid_allow),
        *check_world_writable(tree),
        *check_fips(tree),
        *check_sbom(tree, name, packages),
    ]


def audit_image(project: Project, name: str, *, today: date | None = None) -> Report:
    """The policy-applied report for built image ``name``."""
    if name not in project.images:
        from tributary.config.diagnostics import did_you_mean
        from tributary.errors import ConfigError

        raise ConfigError(f"unknown image {name!r}" + did_you_mean(name, project.images))
    day = today or date.today()
    with open_image(project, name) as tree:
        raw = audit_tree(tree, name, project.audit)
        source = tree.source
    findings = apply_policy(raw, project.audit, today=day, image=name)
    return Report(kind="image", target=name, audited=day, findings=findings, source=source)
