#!/bin/sh
# pip_install.sh <python> <source dir> <work dir>: `pip install .` of the
# source tree into a fresh venv (--system-site-packages, offline), then
# imports the installed package from outside the tree and checks the stub
# shipped beside it.
set -eu
python=$1
source=$2
work=$3
mkdir -p "$work"
rm -rf "$work/venv"
"$python" -m venv --system-site-packages "$work/venv"
XIAOXIANG_PIP_BUILD_DIR="$work/cmake" "$work/venv/bin/python" -m pip install -q \
  --no-build-isolation --no-index --disable-pip-version-check "$source"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import pathlib
import sys

import numpy as np
import xiaoxiang

where = pathlib.Path(xiaoxiang.__file__)
assert where.is_relative_to(pathlib.Path(sys.prefix)), f"imported from {where}, not the venv"
assert where.with_name("__init__.pyi").exists(), "the stub was not installed"
assert where.with_name("py.typed").exists()
assert xiaoxiang.geohash_encode(10.40744, 57.64911, 11) == "u4pruydqqvj"
assert list(xiaoxiang.geohash_encode(np.array([116.397]), np.array([39.908]), 5)) == ["wx4g0"]
print("installed", xiaoxiang.__version__, "at", where.parent)
PY
