#!/usr/bin/env bash
# Installs everything neural_rps needs, idempotently:
#  - Debian packages (compiler, protobuf-c, onnx.proto, cJSON, PyTorch/ONNX/numpy for the Python
#    reference path, gnuplot for plots, clang runtime for sanitizers/fuzzers);
#  - ONNX Runtime 1.29.0 (CPU) from npm, pinned by package-lock.json, into third_party/npm (ignored).
# Usage: scripts/install_deps.sh [--gpu]   (--gpu also fetches the CUDA/TensorRT execution providers)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential make pkg-config clang libclang-rt-14-dev protobuf-c-compiler libprotobuf-c-dev
libonnx-dev libcjson-dev libssl-dev python3 python3-torch python3-onnx python3-numpy gnuplot-nox
ca-certificates valgrind"
# npm: use the one on the machine if any (the machine image may ship a newer Node.js than Debian).
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  echo "install_deps: installing Debian packages:$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
else
  echo "install_deps: Debian packages already installed"
fi

install_npm() { # $1 = directory holding package.json + package-lock.json
  local dir=$1
  if [ -f "$dir/node_modules/.package-lock.json" ] && cmp -s "$dir/package-lock.json" "$dir/.installed-lock"; then
    echo "install_deps: $dir already installed"
    return
  fi
  echo "install_deps: npm ci in $dir (pinned by package-lock.json)"
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  cp "$dir/package-lock.json" "$dir/.installed-lock"
}

# Lay ONNX Runtime out like an official release (include/ + lib/) in third_party/onnxruntime, so that
# the Makefile treats it exactly like ORT_ROOT=/path/to/onnxruntime-linux-x64-1.29.0. Real copies, not
# links, so the folder can travel to another machine as it is.
ORT_OUT=third_party/onnxruntime
install_npm third_party/ort
pkg=third_party/ort/node_modules/com.github.asus4.onnxruntime/Plugins
mkdir -p "$ORT_OUT/include" "$ORT_OUT/lib"
cp -f "$pkg/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers/"*.h "$ORT_OUT/include/"
cp -f "$pkg/Linux/x64/libonnxruntime.so" "$ORT_OUT/lib/libonnxruntime.so.1"
cp -f "$pkg/Linux/x64/libonnxruntime_providers_shared.so" "$ORT_OUT/lib/"
ln -sf libonnxruntime.so.1 "$ORT_OUT/lib/libonnxruntime.so"
if [ "${1:-}" = "--gpu" ]; then
  install_npm third_party/ort-gpu
  gpkg=third_party/ort-gpu/node_modules/com.github.asus4.onnxruntime.linux-x64-gpu
  # ONNX Runtime loads execution-provider libraries from the folder that holds libonnxruntime.
  find "$gpkg" -name 'libonnxruntime_providers_*.so' -exec cp -f {} "$ORT_OUT/lib/" \;
  echo "install_deps: GPU providers in $ORT_OUT/lib: $(cd "$ORT_OUT/lib" && ls libonnxruntime_providers_*.so | tr '\n' ' ')"
  echo "install_deps: they need CUDA 13 (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10) and cuDNN at run time"
fi
echo "install_deps: done"
