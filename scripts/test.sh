#!/usr/bin/env bash
# Sets up (scripts/setup.sh: system packages, npm ci), builds, and runs every test:
#   node      every test file under dist/test, each in its own process (WebGPU by Dawn)
#   deno      the portable suites (test/suites.ts) under Deno (wgpu)
#   chromium  the portable suites in headless Chromium (SwiftShader)
#   web       the browser app (npm run web) end to end in headless Chromium (SwiftShader)
#   bench-deno, bench-chromium
#             the benchmark suite at tiny sizes beside TF.js, under Deno and in a Chromium page
#   onnx      the ONNX conformance runner, when it has been written (dist/test/onnx/run.js)
# then prints a table per runtime and, as its last line, `N passed, N failed`.
#
#   bash scripts/test.sh                      # everything (also: npm test)
#   bash scripts/test.sh elementwise softmax  # only test files whose path contains one of these
#   bash scripts/test.sh --only node,deno     # only these runtimes (node, deno, chromium, web, onnx)
#
# Exit code: 0 when nothing failed. LANTERNA_TEST_TIMEOUT sets the limit per test file (s).

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

SUMMARY=$(mktemp "${TMPDIR:-/tmp}/lanterna-test-summary.XXXXXX")
trap 'rm -f "$SUMMARY"' EXIT
fail_early() {
  echo "test: $1"
  echo "0 passed, 1 failed"
  exit 1
}

bash scripts/setup.sh --no-build || fail_early "set-up failed (see above)"

echo "build: tsc -p tsconfig.json"
TYPECHECK=ok
if ! npx --no-install tsc -p tsconfig.json; then
  TYPECHECK=failed
  echo "build: tsc reported errors; the tests run on what it emitted"
fi
[ -f dist/test/runtimes/run-all.js ] || fail_early "the build produced no dist/test/runtimes/run-all.js"

node dist/test/runtimes/run-all.js --typecheck "$TYPECHECK" --summary-file "$SUMMARY" "$@"
code=$?
if [ ! -s "$SUMMARY" ]; then
  # The runner itself died before its summary: say so, and keep the last line's promise.
  echo "test: the test runner ended without a summary (exit code $code)"
  echo "0 passed, 1 failed"
  exit 1
fi
exit $code
