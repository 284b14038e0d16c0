"""The repository stage: built RPMs -> ``<output-dir>/repo/<channel>/`` (createrepo_c, signing, closure).

``channels`` decides where each binary RPM is published, ``publish`` lays out, signs and swaps in one
directory per channel, ``closure`` checks that everything the published packages require is there.
The stage reads only what the build stage produced (RPM files) and the project's configuration.
"""
