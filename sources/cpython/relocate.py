"""Makes an installed CPython's build configuration relocatable and free of the build's paths.

Usage: relocate.py [--build-tools=PREFIX] INSTALL_TREE BUILD_PREFIX BUILD_TREE BUILD_PATH...

CPython records its build configuration in `_sysconfigdata_*.py`, the `Makefile` and
`python-config` under `lib/pythonX.Y/config-*`, and pkg-config files. Extension module builds
read them (compiler flags, library directories), so paths that only existed in the build
container break them, the most common complaint about relocated CPython builds. This script:

- removes compiler and linker options naming a BUILD_PATH (where the libraries were mounted:
  they are linked into libpython and nothing else needs them);
- makes `_sysconfigdata_*.py` compute every path under BUILD_PREFIX from its own location when
  it is imported (the literal stays a plain dict that static parsers can read, and tools that
  rewrite the prefix in place keep working);
- points pkg-config files at their own directory (`${pcfiledir}`);
- makes the paths of 3.14+'s `build-details.json` (PEP 739) relative: `base_prefix` to the
  file's directory, the others to `base_prefix` (what CPython's generate-build-details.py
  writes with --relative-paths);
- gives the variables that describe the build tree (abs_builddir, RUNSHARED, TESTPYTHON...) a
  neutral value: BUILD_TREE becomes `.`, the build directory relative to itself;
- keeps the options of CONFIG_ARGS, but not the paths in them: a BUILD_PATH becomes its last
  component (`PKG_CONFIG_LIBDIR=deps/lib/pkgconfig`);
- names the build's tools (--build-tools=x86_64-linux-gnu-: the glibc sysroot's
  `x86_64-linux-gnu-clang`, `x86_64-linux-gnu-ar` ...) as the target system's own: `CC='gcc
  -pthread'`, `AR='ar'`. Extension modules are built on the target with its own compiler, and a
  Linux system has gcc (and cc) where it may have no clang; the options recorded beside it are
  those GCC takes too (clang's own, LTO and PGO, are in the *_NODIST variables, not used for
  extension modules);
- fails if any configuration variable, the Makefile, a pkg-config file or python-config still
  names BUILD_TREE or a BUILD_PATH, or a build tool.

Runs on any Python 3 (the toolchain's), so it works for cross builds too.
"""

from __future__ import annotations

import argparse
import ast
import json
import posixpath
import pprint
import re
import sys
from pathlib import Path
from typing import Callable, List

RELOCATION_CODE = """
# cpython-fips: the tree was configured for the prefix {build_prefix!r} and can be moved
# anywhere: every value is rewritten from where this file is when it is imported
# (<prefix>/lib/pythonX.Y/_sysconfigdata_*.py).
def _relocate(variables, build_prefix):
    import os
    import re
    prefix = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pattern = re.compile(re.escape(build_prefix) + r"(?=/|$|[\\s'\\"])")
    for key, value in variables.items():
        if isinstance(value, str):
            variables[key] = pattern.sub(prefix.replace("\\\\", "\\\\\\\\"), value)


_relocate(build_time_vars, {build_prefix!r})
del _relocate
"""


def option_scrubber(build_paths: List[str]) -> Callable[[str], str]:
    """Removes -I, -L and -Wl,-rpath options naming a build path, and tidies spaces."""
    alternatives = "|".join(re.escape(path.rstrip("/")) for path in build_paths)
    # An option starts a line or a value, or follows a blank or the `=` of a Makefile line.
    option = re.compile(
        rf"(?:^|(?<=[\s=]))(?:-I|-L|-Wl,-rpath,|-Wl,-rpath=|-Wl,--enable-new-dtags,-rpath=)\s*"
        rf"(?:{alternatives})(?:/\S*)?(?=\s|$)"
    )

    def scrub(text: str) -> str:
        lines = []
        for line in text.split("\n"):
            scrubbed = option.sub("", line)
            if scrubbed != line:
                # The blanks left where an option was (never a Makefile recipe's leading tab).
                scrubbed = re.sub(r"(?<=\S)[ \t]{2,}", " ", scrubbed).lstrip(" ").rstrip()
            lines.append(scrubbed)
        return "\n".join(lines)

    return scrub


def path_neutraliser(build_tree: str, build_paths: List[str]) -> Callable[[str], str]:
    """Replaces the build tree with `.` and each build path with its last component, wherever
    they remain (records of the build, not options: those are removed first)."""
    replacements = {build_tree.rstrip("/"): "."}
    replacements.update(
        {path.rstrip("/"): posixpath.basename(path.rstrip("/")) for path in build_paths}
    )
    pattern = re.compile(
        "|".join(re.escape(path) for path in sorted(replacements, key=len, reverse=True))
        + r"(?=/|$|[\s'\":,;)])"
    )

    def neutralise(text: str) -> str:
        return pattern.sub(lambda match: replacements[match.group(0)], text)

    return neutralise


# The build's C compiler, and what the target system's is called.
BUILD_COMPILER = "clang"
TARGET_COMPILER = "gcc"


def target_tools(tools_prefix: str) -> Callable[[str], str]:
    """Names the build's tools as the target's own: the commands that start with the prefix lose
    it (`aarch64-linux-gnu-ar` becomes `ar`), and the compiler becomes `gcc`; but
    `aarch64-linux-gnu` alone (MULTIARCH, SOABI...) stays."""
    if not tools_prefix:
        return lambda text: text
    command = re.compile(
        rf"(?<![\w./-]){re.escape(tools_prefix)}(?:({BUILD_COMPILER})\b|(?=[A-Za-z]))"
    )
    return lambda text: command.sub(lambda match: TARGET_COMPILER if match.group(1) else "", text)


def rewrite_sysconfigdata(
    path: Path, scrub: Callable[[str], str], build_prefix: str
) -> dict[str, object]:
    module = ast.parse(path.read_text())
    [assignment] = [
        node
        for node in module.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "build_time_vars" for t in node.targets)
    ]
    variables = ast.literal_eval(assignment.value)
    variables = {
        key: scrub(value) if isinstance(value, str) else value for key, value in variables.items()
    }
    path.write_text(
        "# system configuration generated and used by the sysconfig module\n"
        f"build_time_vars = {pprint.pformat(variables, indent=1)}\n"
        + RELOCATION_CODE.format(build_prefix=build_prefix)
    )
    return variables


def rewrite_pkgconfig(path: Path, scrub: Callable[[str], str], build_prefix: str) -> None:
    text = scrub(path.read_text())
    text = re.sub(
        rf"^prefix={re.escape(build_prefix)}$", "prefix=${pcfiledir}/../..", text, flags=re.M
    )
    path.write_text(text)


def relative_build_details(details: dict, build_prefix: str, details_dir: str) -> dict:
    """PEP 739's relative form of a build-details.json written for `build_prefix`, which is
    `details_dir`'s prefix: `base_prefix` relative to the file's directory, every other path
    under the prefix relative to `base_prefix` (`./bin/python3.14`)."""

    def relative(value: object) -> object:
        if isinstance(value, dict):
            return {key: relative(item) for key, item in value.items()}
        if isinstance(value, list):
            return [relative(item) for item in value]
        if isinstance(value, str) and value.startswith(build_prefix.rstrip("/") + "/"):
            return "./" + posixpath.relpath(value, build_prefix)
        return value

    made = relative(details)
    assert isinstance(made, dict)
    if made.get("base_prefix") == build_prefix:
        made["base_prefix"] = posixpath.relpath(build_prefix, details_dir)
    return made


def rewrite_build_details(path: Path, tree: Path, build_prefix: str) -> None:
    details_dir = posixpath.join(build_prefix, str(path.parent.relative_to(tree)))
    details = relative_build_details(json.loads(path.read_text()), build_prefix, details_dir)
    path.write_text(json.dumps(details, indent=2) + "\n")


def main(
    tree: Path, build_prefix: str, build_tree: str, build_paths: List[str], tools_prefix: str = ""
) -> int:
    remove_options = option_scrubber(build_paths)
    neutralise = path_neutraliser(build_tree, build_paths)
    host_tools = target_tools(tools_prefix)

    def scrub(text: str) -> str:
        return host_tools(neutralise(remove_options(text)))

    leaks: List[str] = []
    # What must not remain: the build's paths, and its compiler.
    remaining = [build_tree, *build_paths] + (
        [f"{tools_prefix}{BUILD_COMPILER}"] if tools_prefix else []
    )

    def check(where: str, text: str) -> None:
        leaks.extend(f"{where}: {found}" for found in remaining if found in text)

    [libdir] = tree.glob("lib/python3.*[0-9t]")
    for data in sorted(libdir.glob("_sysconfigdata_*.py")):
        variables = rewrite_sysconfigdata(data, scrub, build_prefix)
        for key, value in variables.items():
            check(f"{data.relative_to(tree)} {key}", str(value))
        print(f"    relocatable: {data.relative_to(tree)}")
    for pc in sorted((tree / "lib" / "pkgconfig").glob("*.pc")):
        rewrite_pkgconfig(pc, scrub, build_prefix)
        check(str(pc.relative_to(tree)), pc.read_text())
        print(f"    relocatable: {pc.relative_to(tree)}")
    for details in libdir.glob("build-details.json"):
        rewrite_build_details(details, tree, build_prefix)
        check(str(details.relative_to(tree)), details.read_text())
        print(f"    relocatable: {details.relative_to(tree)}")
    # The Setup files: 3.10's Setup.local names OpenSSL's include and library directories.
    for config in [
        *libdir.glob("config-*/Makefile"),
        *libdir.glob("config-*/Setup.local"),
        *tree.glob("bin/python3*-config"),
    ]:
        if not config.is_symlink():
            config.write_text(scrub(config.read_text()))
            check(str(config.relative_to(tree)), config.read_text())
            print(f"    scrubbed:    {config.relative_to(tree)}")
    # Byte-compiled caches of the rewritten module would hold the old values.
    for cache in libdir.glob("__pycache__/_sysconfigdata_*"):
        cache.unlink()

    if leaks:
        print("error: build paths remain in installed text files:", *leaks, sep="\n    ")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("--build-tools", default="", metavar="PREFIX")
    parser.add_argument("tree", type=Path)
    parser.add_argument("build_prefix")
    parser.add_argument("build_tree")
    parser.add_argument("build_paths", nargs="+")
    args = parser.parse_args()
    sys.exit(
        main(args.tree, args.build_prefix, args.build_tree, args.build_paths, args.build_tools)
    )
