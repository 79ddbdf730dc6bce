#!/usr/bin/env bash
# Installs the system libraries vmoe builds against, only if they are missing (Debian/Ubuntu).
set -euo pipefail
need=()
pkg-config --exists hdf5-serial 2>/dev/null || need+=(libhdf5-dev)
pkg-config --exists libprotobuf-c 2>/dev/null || need+=(libprotobuf-c-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" pkg-config >/dev/null
fi
command -v swift >/dev/null 2>&1 || { echo "setup: swift not found on PATH (Swift 5.9+ toolchain required)" >&2; exit 1; }
