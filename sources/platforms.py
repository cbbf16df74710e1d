# Build-file prelude ([GLOBAL].build_file_prelude_globs): the target platforms, shared by the
# BUILD files that generate per-platform targets. (A prelude may only expose hashable values,
# hence functions rather than dicts.)


def target_platforms():
    """Linux platforms built in toolchain containers: name -> how to build for it.

    `toolchain` is the build environment; `host` the GNU triple of the machine the result runs
    on; `cross_env` the environment a build script needs to cross-compile for it (empty for a
    native build), including `EMULATOR`, the command that runs the target's programs for tests.
    """
    return {
        "linux-x86_64": dict(
            toolchain="sources/toolchain:linux-x86_64",
            host="x86_64-linux-gnu",
            cross_env={},
        ),
        "linux-aarch64": dict(
            toolchain="sources/toolchain:linux-aarch64",
            host="aarch64-linux-gnu",
            cross_env={
                "HOST_TRIPLE": "aarch64-linux-gnu",
                "EMULATOR": "qemu-aarch64 -L /usr/aarch64-linux-gnu",
            },
        ),
    }


def cpython_build_platforms():
    """The platforms whose CPython builds are implemented: `sources/cpython` has targets for
    them, and the //dist targets of the other platforms say so rather than name a missing target.
    (aarch64 Linux: a cross build needs a native interpreter of the same version as
    --with-build-python; aarch64 macOS: a macOS host and its own build script.)"""
    return ("linux-x86_64",)
