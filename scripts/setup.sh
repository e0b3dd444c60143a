#!/usr/bin/env bash
# Sets up everything Lanterna needs, idempotently: system packages (as root on Debian), the npm
# dependencies and the build. Safe to run again: each step only runs when something is missing.
#
#   bash scripts/setup.sh              # install what is missing, then build into dist/
#   bash scripts/setup.sh --no-build   # the same without the build (scripts/test.sh builds itself)
#
# System packages (Debian 12, as root):
#   libvulkan1 chromium-common   Vulkan loader + SwiftShader (a CPU Vulkan driver) for WebGPU
#   chromium                     headless browser for the browser test run
#   libonnx-testdata             ONNX conformance data in /usr/share/libonnx-testdata
#   python3-h5py                 used by one interoperability test
#   mesa-vulkan-drivers          lavapipe from bookworm-backports (Mesa >= 24), the faster CPU
#                                driver; if backports cannot be reached, SwiftShader is used.
# Not root, or not Debian: prints what to install and carries on.

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
APT_LOG=${TMPDIR:-/tmp}/lanterna-setup-apt.log
PACKAGES=(libvulkan1 chromium-common chromium libonnx-testdata python3-h5py)
LVP_ICD=/usr/share/vulkan/icd.d/lvp_icd.json # Mesa >= 24; Debian 12's own Mesa 22.3 is refused by Dawn

# --- Node -------------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "Node.js >= 20 with npm is required and was not found (Debian 12's own nodejs is 18: use NodeSource or nvm)."
  exit 1
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
if [ "$NODE_MAJOR" -lt 20 ]; then
  say "Node.js $(node --version) is too old: Lanterna needs Node >= 20."
  exit 1
fi

# --- System packages --------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
apt_get() {
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get -y -o Acquire::Retries=2 -o Acquire::http::Timeout=30 -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Use-Pty=0 "$@" >>"$APT_LOG" 2>&1
}
apt_failed() { say "  apt-get $1 failed; last lines of $APT_LOG:"; tail -n 5 "$APT_LOG" | sed 's/^/    /'; }

OS_ID=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
CODENAME=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if [ "$OS_ID" = debian ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
  MISSING=()
  for p in "${PACKAGES[@]}"; do installed "$p" || MISSING+=("$p"); done
  if [ ! -f "$LVP_ICD" ]; then NEED_LVP=1; else NEED_LVP=0; fi
  if [ ${#MISSING[@]} -eq 0 ] && [ $NEED_LVP -eq 0 ]; then
    say "system packages: all present"
  elif [ "$(id -u)" != 0 ]; then
    say "not root: cannot install system packages. As root, run:"
    [ ${#MISSING[@]} -gt 0 ] && say "  apt-get install -y ${MISSING[*]}"
    [ $NEED_LVP -eq 1 ] && say "  apt-get install -y -t bookworm-backports mesa-vulkan-drivers   # lavapipe, optional (see docs/ENVIRONMENT.md)"
  else
    : >"$APT_LOG"
    UPDATED=0
    if [ ${#MISSING[@]} -gt 0 ]; then
      say "apt-get install ${MISSING[*]} (log: $APT_LOG)"
      apt_get update || say "  apt-get update reported errors (continuing)"
      UPDATED=1
      if ! apt_get install --no-install-recommends "${MISSING[@]}"; then
        # apt installs all or nothing: retry one by one so that one unavailable package costs only itself.
        for p in "${MISSING[@]}"; do
          apt_get install --no-install-recommends "$p" || apt_failed "install $p"
        done
      fi
    fi
    if [ $NEED_LVP -eq 1 ]; then
      if [ "$CODENAME" = bookworm ]; then
        ADDED=""
        if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
          m=$(sed -nE 's#^URIs: *([^ ]+/debian)/?$#\1#p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
          [ -n "$m" ] || m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
          [ -n "$m" ] || m=http://deb.debian.org/debian
          ADDED=/etc/apt/sources.list.d/lanterna-backports.list
          echo "deb $m bookworm-backports main" >"$ADDED"
          UPDATED=0
        fi
        say "lavapipe: apt-get install -t bookworm-backports mesa-vulkan-drivers (Mesa >= 24)"
        [ $UPDATED -eq 1 ] || apt_get update || say "  apt-get update reported errors (continuing)"
        if apt_get install --no-install-recommends -t bookworm-backports mesa-vulkan-drivers && [ -f "$LVP_ICD" ]; then
          say "  lavapipe installed ($LVP_ICD)"
        else
          say "  lavapipe could not be installed (is bookworm-backports reachable?); WebGPU will use SwiftShader."
          tail -n 3 "$APT_LOG" | sed 's/^/    /'
          # Leave no unreachable source behind to break later apt-get updates.
          [ -n "$ADDED" ] && rm -f "$ADDED"
        fi
      else
        say "lavapipe: apt-get install mesa-vulkan-drivers"
        [ $UPDATED -eq 1 ] || apt_get update || true
        apt_get install --no-install-recommends mesa-vulkan-drivers && [ -f "$LVP_ICD" ] ||
          say "  no lavapipe from Mesa >= 24 here; WebGPU will use SwiftShader."
      fi
    fi
  fi
else
  say "not Debian: install by hand a Vulkan loader and a Vulkan driver (a GPU's, or lavapipe from Mesa >= 24,"
  say "  or SwiftShader), Chromium for the browser tests, and ONNX's backend test data for the conformance run."
fi

# --- npm dependencies -------------------------------------------------------------------------
# npm ci when node_modules is missing or does not match package-lock.json (npm keeps its own
# record of what it installed in node_modules/.package-lock.json).
npm_stale() {
  [ -f node_modules/.package-lock.json ] || return 0
  node -e '
    const fs = require("fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages || {};
    const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages || {};
    for (const [k, v] of Object.entries(want)) {
      if (!k || v.optional || v.link) continue;
      if (!have[k] || have[k].version !== v.version || !fs.existsSync(k)) { console.log(k); process.exit(0); }
    }
    process.exit(1);' 2>/dev/null
}
if [ ! -f package-lock.json ]; then
  say "package-lock.json is missing: npm install"
  npm install --no-audit --no-fund --loglevel=error || { say "npm install failed"; exit 1; }
elif STALE=$(npm_stale); then
  say "npm ci${STALE:+ (node_modules lacks or differs in $STALE)}"
  npm ci --no-audit --no-fund --loglevel=error || { say "npm ci failed"; exit 1; }
else
  say "node_modules: up to date"
fi

# --- build ------------------------------------------------------------------------------------
if [ $BUILD -eq 1 ]; then
  say "build: tsc -p tsconfig.json"
  npx --no-install tsc -p tsconfig.json
  case $? in
    0) ;;
    2) say "  tsc reported type errors (above); JavaScript was still emitted into dist/" ;;
    *) say "  the build failed"; exit 1 ;;
  esac
fi
exit 0
