# Tributary Example Linux 1.0: what both bootstrap stages share, in the shape of Azure Linux's
# mock templates. Included by tribex-1.0-stage1-x86_64.cfg and tribex-1.0-stage2-x86_64.cfg.
#
# Both stages take their toolchain from stage 0: this build host's own packages, repackaged under
# Fedora's names by `trib buildroot stage0` (tributary makes it on first use; `tributary_stage0` is
# its file:// URL). In production the same file points at Fedora 43's repositories instead:
#   baseurl=https://<mirror>/fedora/linux/releases/43/Everything/$basearch/os/
# (see docs/BUILD.md).

config_opts['releasever'] = '1.0'
config_opts['package_manager'] = 'dnf'
config_opts['description'] = 'Tributary Example Linux {{ releasever }}, stage {{ tribex_stage }}'

# The distribution's identity; its build policy comes with its own tribex-rpm-config package.
config_opts['macros']['%dist'] = '.tribex10'
config_opts['macros']['%vendor'] = 'Tributary Example Linux'
config_opts['macros']['%distribution'] = 'Tributary Example Linux 1.0'
# Reproducible builds from the first package on, as Koji sets them for a tag: tribex-rpm-config, which
# carries them for every other build, is itself built in a root without it.
config_opts['macros']['%_buildhost'] = 'build.tribex.invalid'
config_opts['macros']['%source_date_epoch_from_changelog'] = '1'
config_opts['macros']['%use_source_date_epoch_as_buildtime'] = '1'
config_opts['macros']['%clamp_mtime_to_source_date_epoch'] = '1'

# %autorelease is expanded when tributary renders the spec; the plugin has nothing left to do.
config_opts['plugin_conf']['rpmautospec_enable'] = True

# An explicit package list, as Azure Linux's stage 2 has: Fedora's build set, the C toolchain every
# component here needs, and the distribution's rpm-config.
config_opts['tribex_build_set'] = 'bash bzip2 coreutils cpio diffutils findutils gawk glibc grep gzip patch rpm-build sed shadow-utils tar unzip util-linux which xz gcc make'
config_opts['chroot_setup_cmd'] = 'install {{ tribex_build_set }} tribex-rpm-config'

config_opts['dnf.conf'] = """
[main]
keepcache=1
debuglevel=2
reposdir=/dev/null
install_weak_deps=0
protected_packages=

[tribex-stage0]
name=Stage 0: the build host's packages under Fedora's names
baseurl={{ tributary_stage0 }}
gpgcheck=1
gpgkey={{ tributary_stage0 }}/RPM-GPG-KEY-stage0
skip_if_unavailable=False
{% if tribex_stage == 2 %}
[tribex-stage1]
name=Tributary Example Linux {{ releasever }}, stage 1 packages
baseurl=file://{{ tributary_project_dir }}/out/stage1/rpms
gpgcheck=0
skip_if_unavailable=False
{% endif %}
"""
