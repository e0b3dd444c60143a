#!/usr/bin/env bash
# A/B benchmark of two builds of Lanterna, side by side in one run (bench/ab.ts; bench/README.md).
#
#   bash bench/ab.sh <base-commit> [<head-commit>] [options]
#   bash bench/ab.sh 28b3943                        # base 28b3943 vs this working tree, default suite
#   bash bench/ab.sh 28b3943 --tiny --runs 5        # the CI's tiny sizes (checks the tool, not speed)
#   bash bench/ab.sh 28b3943 main --only conv,train # two commits; options as bench/ab.ts (--help)
#
# Checks the base commit (and the head, when given) out into a temporary git worktree, links
# node_modules, builds it with tsc into that checkout's dist/; builds this working tree into its
# dist/ (the runner, and the head when none is given); runs dist/bench/ab.js; removes the
# temporary worktrees again, also when stopped. Writes bench/results/ab-<adapter>-<date>-<base>-vs-<head>.md
# and .json. LANTERNA_VULKAN=lavapipe|swiftshader picks the driver, as for every benchmark.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd -P)

die() {
  echo "ab: $*" >&2
  exit 1
}
usage() {
  sed -n '4,7p' "$ROOT/bench/ab.sh" | sed 's/^#   //' >&2
  if [ -f "$ROOT/dist/bench/ab.js" ]; then node "$ROOT/dist/bench/ab.js" --help 2>&1 | sed -n '3,$p' >&2 || true; fi
  exit "$1"
}

for a in "$@"; do case $a in -h | --help) usage 0 ;; esac; done
[ $# -ge 1 ] || usage 2
case $1 in -*) usage 2 ;; esac
BASE=$1
shift
HEAD=
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
  HEAD=$1
  shift
fi

base_sha=$(git rev-parse --verify --quiet "$BASE^{commit}") || die "not a commit: $BASE"
head_sha=
if [ -n "$HEAD" ]; then head_sha=$(git rev-parse --verify --quiet "$HEAD^{commit}") || die "not a commit: $HEAD"; fi
[ -e node_modules ] || die "no node_modules in $ROOT (npm ci first)"
NODE_MODULES=$(readlink -f node_modules)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lanterna-ab.XXXXXX")
cleanup() {
  for wt in "$TMP/base" "$TMP/head"; do
    [ -d "$wt" ] || continue
    if [ -L "$wt/node_modules" ]; then rm -f "$wt/node_modules"; fi
    git worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
  done
  rm -rf "$TMP"
  git worktree prune
}
trap cleanup EXIT
trap 'exit 130' INT TERM

checkout() { # <commit> <dir>
  echo "ab: checking out ${1:0:7} into $2"
  git worktree add --quiet --detach "$2" "$1"
  # The same dependencies: share this tree's node_modules; else the commit's own (npm ci).
  if cmp -s "$ROOT/package-lock.json" "$2/package-lock.json"; then
    ln -s "$NODE_MODULES" "$2/node_modules"
  else
    echo "ab: ${1:0:7} locks other dependencies: npm ci in its checkout"
    (cd "$2" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $2"
  fi
}
build() { # <checkout>
  echo "ab: building $1 (tsc -p tsconfig.json)"
  (cd "$1" && npx --no-install tsc -p tsconfig.json) || echo "ab: tsc reported errors in $1; using what it emitted"
  [ -f "$1/dist/bench/suite.js" ] || die "the build of $1 has no dist/bench/suite.js"
}

checkout "$base_sha" "$TMP/base"
build "$TMP/base"
build "$ROOT" # the runner itself; the head too, when no head commit is given
[ -f "$ROOT/dist/bench/ab.js" ] || die "the build of this tree has no dist/bench/ab.js"
HEAD_ROOT=$ROOT
if [ -n "$head_sha" ]; then
  checkout "$head_sha" "$TMP/head"
  build "$TMP/head"
  HEAD_ROOT=$TMP/head
fi

set +e
node "$ROOT/dist/bench/ab.js" --base-root "$TMP/base" --head-root "$HEAD_ROOT" "$@"
code=$?
set -e
exit $code
