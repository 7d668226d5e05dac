#!/bin/sh
# Runs the Python binding's tests against target/debug/liblic.so and a
# lic-devserver the tests start (built with cargo when missing).
# Usage: bindings/python/run-tests.sh [pytest args...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
# pytest runs the suite; setuptools and wheel let test_install.py build the
# package without a package index (--no-build-isolation).
if ! "$py" -c "import pytest, setuptools, wheel" 2>/dev/null; then
  "$py" -m pip install --quiet --disable-pip-version-check pytest setuptools wheel
fi
cd "$here"
exec "$py" -m pytest -q -p no:cacheprovider tests "$@"
