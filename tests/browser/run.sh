#!/usr/bin/env bash
# Browser and SDK tests of tailor serve: installs what they need (npm packages, Debian's
# chromium) when missing, then runs them with node's test runner.
#   TAILOR_BIN=/path/to/tailor tests/browser/run.sh      (default: build/tailor)
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -d node_modules ]; then
  npm install --no-audit --no-fund
fi

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-remove chromium
fi

export TAILOR_BIN="${TAILOR_BIN:-$(cd ../.. && pwd)/build/tailor}"
# tracker_unit.mjs needs no server; the others start $TAILOR_BIN.
exec node --test tracker_unit.mjs tracker_e2e.mjs sdk_compat.mjs web_app_e2e.mjs
