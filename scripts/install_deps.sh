#!/usr/bin/env bash
# Installs what neural_rps needs, idempotently, after saying what it will download and about how much.
#   scripts/install_deps.sh        (make deps)     what `make bench` needs: C compiler, protobuf-c and ONNX's
#                                  onnx.proto (libonnx-dev: the build generates its reader from it), cJSON, OpenSSL
#                                  (SHA-256 of the models), gnuplot (bench-sweep's plot), and ONNX Runtime 1.29.0
#                                  (CPU) from npm, pinned by third_party/ort/package-lock.json, laid out in
#                                  third_party/onnxruntime (ignored by git);
#   scripts/install_deps.sh --dev  (make deps-dev) + what the tests and checks need: Debian's python3 with PyTorch,
#                                  ONNX and numpy (the Python reference checks), clang with its sanitizer and
#                                  libFuzzer runtime (make fuzz), valgrind (make valgrind), Open MPI (mpicc and mpirun:
#                                  train --mpi / arena --mpi and their tests, tests/test_cli_mpi.sh);
#   scripts/install_deps.sh --gpu  (make deps-gpu) + ONNX Runtime's CUDA/TensorRT execution providers.
# A second run downloads nothing and rewrites no file (ONNX Runtime is skipped while the stamp in
# third_party/onnxruntime names the versions and integrity hashes of the lock file), so `make` rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0 GPU=0
for a in "$@"; do
  case "$a" in
    --dev) DEV=1 ;;
    --gpu) GPU=1 ;;
    *) echo "usage: scripts/install_deps.sh [--dev] [--gpu]" >&2; exit 2 ;;
  esac
done

ORT_VERSION=1.29.0
ORT_OUT=third_party/onnxruntime
# npm tarball sizes (bytes) of the pinned packages, for the download summary (fixed by the lock's integrity hashes).
declare -A TGZ_BYTES=(
  [com.github.asus4.onnxruntime@0.4.9]=149786233
  [com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9]=179145956
)

# "name@version integrity" for every package pinned by $1/package-lock.json.
lock_pins() {
  awk -F'"' '/"node_modules\//{n=$2; sub(/^node_modules\//, "", n)}
             n && $2 == "version" {v=$4}
             n && $2 == "integrity" {print n "@" v " " $4; n=""}' "$1/package-lock.json"
}
# Stamp = "onnxruntime VERSION", the pins, then "file PATH" for each file installed from them.
stamp_ok() { # $1 = lock dir, $2 = stamp file
  [ -f "$2" ] || return 1
  [ "$(grep -v '^file ' "$2")" = "$(printf 'onnxruntime %s\n%s' "$ORT_VERSION" "$(lock_pins "$1")")" ] || return 1
  local f
  while read -r f; do [ -e "$ORT_OUT/$f" ] || return 1; done < <(sed -n 's/^file //p' "$2")
  grep -q '^file ' "$2"
}

CPU_STAMP=$ORT_OUT/.installed-cpu GPU_STAMP=$ORT_OUT/.installed-gpu
need_cpu=0 need_gpu=0
stamp_ok third_party/ort "$CPU_STAMP" || need_cpu=1
# The GPU package's files go into the same lib/ (its libonnxruntime_providers_shared.so replaces the core's), so a
# new copy of the core voids the GPU stamp.
[ "$need_cpu" -eq 1 ] && rm -f "$GPU_STAMP"
[ "$GPU" -eq 1 ] && { stamp_ok third_party/ort-gpu "$GPU_STAMP" || need_gpu=1; }

# ---- Debian packages ----
PKGS="gcc libc6-dev make protobuf-c-compiler libprotobuf-c-dev libonnx-dev libcjson-dev libssl-dev gnuplot-nox"
# The xnnpack-cpu backend (0.4 MB with libxnnpack0, libcpuinfo0 and libpthreadpool0).
PKGS="$PKGS libxnnpack-dev libpthreadpool-dev"
# nvcc builds the native CUDA backend and needs a host C++ compiler (and libstdc++ for the link).
if command -v nvcc >/dev/null 2>&1 || [ -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then PKGS="$PKGS g++"; fi
[ "$DEV" -eq 1 ] && PKGS="$PKGS python3 python3-torch python3-onnx python3-numpy clang libclang-rt-14-dev valgrind"
[ "$DEV" -eq 1 ] && PKGS="$PKGS openmpi-bin libopenmpi-dev" # MPI: the build finds mpicc, the tests use mpirun
if [ $((need_cpu + need_gpu)) -gt 0 ]; then
  PKGS="$PKGS ca-certificates"
  # npm: use the one on the machine if any (the machine image may ship a newer Node.js than Debian).
  command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
fi

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1e6}'; }
total=0 plan=()
if [ -n "$missing" ]; then
  echo "install_deps: missing Debian packages:$missing; refreshing the package lists (apt-get update) to size them"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  read -r n bytes < <($SUDO apt-get install --print-uris -qq --no-install-recommends $missing |
                      awk '/^'\''/ {n++; s += $3} END {print n + 0, s + 0}')
  if [ "$n" -gt 0 ]; then plan+=("$n Debian packages ($(mb "$bytes"): the missing ones with their dependencies)")
  else plan+=("the missing Debian packages from apt's cache (no download)"); fi
  total=$((total + bytes))
fi
npm_cache=""
command -v npm >/dev/null 2>&1 && npm_cache=$(npm config get cache 2>/dev/null || true)
# npm_plan DIR: adds to the plan the pinned tarballs that npm ci in DIR will fetch (none when npm's cache holds them;
# the core package under ort-gpu is the one ort's npm ci fetched or fetches).
npm_plan() {
  local pin integrity b size label
  if [ -f "$1/node_modules/.package-lock.json" ] && cmp -s "$1/package-lock.json" "$1/.installed-lock"; then
    plan+=("$1/node_modules already unpacked (no download)"); return
  fi
  while read -r pin integrity; do
    label="ONNX Runtime $ORT_VERSION"
    case "$pin" in *-gpu@*) label="$label GPU providers" ;; esac
    if [ -n "$npm_cache" ] && grep -rqsF "$integrity" "$npm_cache/_cacache/index-v5" 2>/dev/null; then
      [ "$1" = third_party/ort-gpu ] && [ "$label" = "ONNX Runtime $ORT_VERSION" ] && continue
      plan+=("$label from npm's cache: $pin (no download)"); continue
    fi
    [ "$1" = third_party/ort-gpu ] && [ "$label" = "ONNX Runtime $ORT_VERSION" ] && [ "$need_cpu" -eq 1 ] && continue
    b=${TGZ_BYTES[$pin]:-0} size="size unknown"
    [ "$b" -gt 0 ] && size=$(mb "$b")
    plan+=("$label from npm: $pin ($size, pinned by $1/package-lock.json)")
    total=$((total + b))
  done < <(lock_pins "$1")
}
[ "$need_cpu" -eq 1 ] && npm_plan third_party/ort
[ "$need_gpu" -eq 1 ] && npm_plan third_party/ort-gpu
what="make bench" gpu_note="" gpu_for=""
[ "$DEV" -eq 1 ] && what="make bench and the tests"
[ "$GPU" -eq 1 ] && gpu_note=" with its GPU providers" && gpu_for=" and ONNX Runtime's GPU providers"
list=""
[ ${#plan[@]} -gt 0 ] && list=$(printf '; %s' "${plan[@]}") && list=${list#; }
if [ ${#plan[@]} -eq 0 ]; then
  echo "install_deps: nothing to download: the Debian packages for $what and ONNX Runtime $ORT_VERSION$gpu_note are installed"
elif [ "$total" -eq 0 ]; then
  echo "install_deps: nothing to download for $what$gpu_for: $list"
else
  echo "install_deps: will download about $(mb "$total") for $what$gpu_for: $list"
fi

if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# ---- ONNX Runtime, laid out like an official release (include/ + lib/) ----
# so that the Makefile treats it exactly like ORT_ROOT=/path/to/onnxruntime-linux-x64-1.29.0. Real copies, not
# links, so the folder can travel to another machine as it is.
install_npm() { # $1 = directory holding package.json + package-lock.json
  local dir=$1
  if [ -f "$dir/node_modules/.package-lock.json" ] && cmp -s "$dir/package-lock.json" "$dir/.installed-lock"; then
    return
  fi
  echo "install_deps: npm ci in $dir (pinned by package-lock.json)"
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  cp "$dir/package-lock.json" "$dir/.installed-lock"
}
# put SRC DST: a copy with SRC's timestamps, through a temporary file and a rename (a running process keeps the
# old file); an identical DST is left alone, so make never sees a header newer than the objects built from it.
installed=()
put() {
  installed+=("${2#"$ORT_OUT"/}")
  cmp -s "$1" "$2" && return
  cp -p "$1" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}
write_stamp() { # $1 = lock dir, $2 = stamp file
  { echo "onnxruntime $ORT_VERSION"; lock_pins "$1"; printf 'file %s\n' "${installed[@]}"; } >"$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

if [ "$need_cpu" -eq 1 ]; then
  install_npm third_party/ort
  pkg=third_party/ort/node_modules/com.github.asus4.onnxruntime/Plugins
  mkdir -p "$ORT_OUT/include" "$ORT_OUT/lib"
  installed=()
  for h in "$pkg/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers/"*.h; do
    put "$h" "$ORT_OUT/include/$(basename "$h")"
  done
  put "$pkg/Linux/x64/libonnxruntime.so" "$ORT_OUT/lib/libonnxruntime.so.1"
  put "$pkg/Linux/x64/libonnxruntime_providers_shared.so" "$ORT_OUT/lib/libonnxruntime_providers_shared.so"
  [ "$(readlink "$ORT_OUT/lib/libonnxruntime.so" 2>/dev/null)" = libonnxruntime.so.1 ] ||
    ln -sfn libonnxruntime.so.1 "$ORT_OUT/lib/libonnxruntime.so"
  installed+=(lib/libonnxruntime.so)
  write_stamp third_party/ort "$CPU_STAMP"
  echo "install_deps: ONNX Runtime $ORT_VERSION in $ORT_OUT (stamp $CPU_STAMP)"
else
  echo "install_deps: ONNX Runtime $ORT_VERSION already in $ORT_OUT (stamp matches third_party/ort/package-lock.json)"
fi
if [ "$GPU" -eq 1 ]; then
  if [ "$need_gpu" -eq 1 ]; then
    install_npm third_party/ort-gpu
    gpkg=third_party/ort-gpu/node_modules/com.github.asus4.onnxruntime.linux-x64-gpu
    # ONNX Runtime loads execution-provider libraries from the folder that holds libonnxruntime.
    installed=()
    while IFS= read -r -d '' so; do
      put "$so" "$ORT_OUT/lib/$(basename "$so")"
    done < <(find "$gpkg" -name 'libonnxruntime_providers_*.so' -print0)
    write_stamp third_party/ort-gpu "$GPU_STAMP"
  fi
  echo "install_deps: GPU providers in $ORT_OUT/lib: $(sed -n 's|^file lib/||p' "$GPU_STAMP" | tr '\n' ' ')"
  echo "install_deps: they need CUDA 13 (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10) and cuDNN at run time"
fi
echo "install_deps: done"
