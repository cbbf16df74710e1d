#!/bin/bash
# Builds spam.c into an extension module against an installed interpreter, the two ways build
# tools do it, and imports it: with the compiler and flags sysconfig records (as setuptools
# does), and with python3-config. Run where a C compiler is installed but none of the build's
# paths exist:  check-extension.sh PYTHON
set -euo pipefail
python=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "Building an extension module against $python"
# As setuptools' build_ext: CC + CFLAGS + CCSHARED to compile, LDSHARED to link.
"$python" - "$here/spam.c" <<'PY'
import shlex, subprocess, sys, sysconfig
v = sysconfig.get_config_vars()
include = sysconfig.get_paths()["include"]
compile_ = [*shlex.split(v["CC"]), *shlex.split(v["CFLAGS"]), *shlex.split(v["CCSHARED"]),
            f"-I{include}", "-c", sys.argv[1], "-o", "spam.o"]
link = [*shlex.split(v["LDSHARED"]), "spam.o", "-o", "sysconfig/spam" + v["EXT_SUFFIX"]]
for command in (compile_, ["mkdir", "-p", "sysconfig"], link):
    print("    $", shlex.join(command))
    subprocess.run(command, check=True)
PY
PYTHONPATH=sysconfig "$python" -c 'import spam; assert spam.add(2, 3) == 5; print("PASS: built with sysconfig:", spam.__file__)'

# As a Makefile would: python3-config for the flags.
config=$(dirname "$python")/$(basename "$python")-config
mkdir -p config
# shellcheck disable=SC2046  # the flags are words
gcc -shared -fPIC $("$config" --includes) "$here/spam.c" -o "config/spam$("$config" --extension-suffix)"
PYTHONPATH=config "$python" -c 'import spam; assert spam.add(2, 3) == 5; print("PASS: built with python-config:", spam.__file__)'
