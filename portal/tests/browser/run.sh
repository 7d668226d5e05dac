#!/bin/sh
# lic-portal in a real browser: builds lic, lic-devserver and lic-portal,
# then drives Debian's headless Chromium with Selenium through every outcome
# page (test_portal.py). Installs what is missing: chromium and
# chromium-driver (apt), pytest and selenium (pip). Screenshots of each
# outcome page land in target/portal-screenshots/ (or $LIC_SCREENSHOTS).
# Usage: portal/tests/browser/run.sh [pytest args...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
py=${PYTHON:-python3}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core
fi
if ! "$py" -c "import pytest, selenium" 2>/dev/null; then
  "$py" -m pip install --quiet --disable-pip-version-check pytest "selenium>=4.20"
fi
# Selenium finds the driver and browser from the paths the test gives it;
# Selenium Manager must not try to download either.
export SE_AVOID_STATS=true SE_OFFLINE=true

(cd "$root" && CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build -q -p lic -p lic-devserver -p lic-portal)
cd "$here"
exec "$py" -m pytest -q -p no:cacheprovider test_portal.py "$@"
