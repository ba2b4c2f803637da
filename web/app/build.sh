#!/usr/bin/env bash
# Bundles the web app into OUT.cc (CMake runs this; see CMakeLists.txt). Installs what it needs
# when missing: Node.js and npm (Debian packages), then the pinned npm packages (npm ci).
#   web/app/build.sh OUT.cc
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-remove nodejs npm
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node build.mjs "$1"
