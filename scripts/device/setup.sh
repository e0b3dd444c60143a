#!/usr/bin/env bash
# Sourced on the lent GPU machine, from the repository root, with .device and .gl carried:
#   source scripts/device/setup.sh && lanterna train ...
# Unpacks Node, the app and the Vulkan/GL loader libraries, points Vulkan at the NVIDIA ICD.
if [ -z "${LANTERNA_SKIP_GL:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
LROOT=${LANTERNA_ROOT:-/opt/lanterna}
mkdir -p "$LROOT"
xz -dc .device/node.xz > "$LROOT/node" && chmod +x "$LROOT/node"
xz -dc .device/app.tar.xz | tar -C "$LROOT" --strip-components=1 -xf -
export PATH=$LROOT:$PATH XDG_RUNTIME_DIR=/tmp
[ -n "${LANTERNA_SKIP_GL:-}" ] || for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd; break; fi
done
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
echo "ICD: ${VK_ICD_FILENAMES:-none}"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
lanterna() { node "$LROOT/dist/cli/main.js" "$@"; }
