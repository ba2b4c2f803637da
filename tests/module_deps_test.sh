#!/usr/bin/env bash
# The module dependency check (tools/checks/module_deps.py) passes on the repository and fails
# on copies of it with a dependency pointing backwards, a front end reaching into a module's
# private code, and a public header no module owns.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
check="$repo/tools/checks/module_deps.py"
python3 "$check" "$repo"

work=$(mktemp -d "${TMPDIR:-/tmp}/tailor-deps-XXXXXX")
trap 'rm -rf "$work"' EXIT
copy() {
  rm -rf "$work/repo" && mkdir -p "$work/repo/docs"
  cp -r "$repo/CMakeLists.txt" "$repo/include" "$repo/src" "$repo/tools" "$work/repo/"
  cp "$repo/docs/architecture.md" "$work/repo/docs/"
}
expect_failure() {
  local what=$1 pattern=$2
  if output=$(python3 "$check" "$work/repo"); then
    echo "FAIL: the check passed with $what" >&2
    exit 1
  fi
  grep -q "$pattern" <<< "$output" || { echo "FAIL: $what not named: $output" >&2; exit 1; }
  echo "ok: $what is refused"
}

copy  # common (the bottom) reaching up into the server
echo '#include "server/api_impl.h"' >> "$work/repo/src/common/status.cc"
expect_failure "a dependency pointing backwards" "src/common/status.cc: module common includes server/api_impl.h"

copy  # a module using one it reaches only through another (engine -> snapshot -> store)
echo '#include "store/records.h"' >> "$work/repo/src/population/population.cc"
expect_failure "a module not in DEPS used through another" "module population includes store/records.h of module store, which is not in its DEPS"

copy  # a declared dependency nothing uses
sed -i 's/DEPS tailor_common tailor_store OpenSSL::Crypto)/DEPS tailor_common tailor_store tailor_geo OpenSSL::Crypto)/' "$work/repo/CMakeLists.txt"
expect_failure "an unused dependency" "module access declares geo but includes nothing of it"

copy  # an angle-bracket include is an include too
echo '#include <tailor/server.h>' >> "$work/repo/src/ingest/mapping.cc"
expect_failure "an angle-bracket include" "module ingest includes tailor/server.h"

copy  # the store reaching into the segments' public header
echo '#include "tailor/segments.h"' >> "$work/repo/src/store/records.cc"
expect_failure "a public header of a module not depended on" "module store includes tailor/segments.h"

copy  # the CLI reaching into private code
echo '#include "engine/importer.h"' >> "$work/repo/tools/tailor/main.cc"
expect_failure "a front end including private code" "a front end includes private engine/importer.h"

copy  # a new public header missing from the map
touch "$work/repo/include/tailor/orphan.h"
expect_failure "an unowned public header" "no module owns include/tailor/orphan.h"
