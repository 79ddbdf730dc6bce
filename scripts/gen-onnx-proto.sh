#!/usr/bin/env bash
# Regenerates Sources/CONNX from schemas/onnx.proto (copied from the pinned onnx wheel:
# site-packages/onnx/onnx.proto). Needs protoc-c (Debian: protobuf-c-compiler).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
protoc-c --proto_path=schemas --c_out="$tmp" schemas/onnx.proto
mv "$tmp/onnx.pb-c.h" Sources/CONNX/include/onnx.pb-c.h
mv "$tmp/onnx.pb-c.c" Sources/CONNX/onnx.pb-c.c
rmdir "$tmp"
echo "regenerated Sources/CONNX/{onnx.pb-c.c,include/onnx.pb-c.h} with $(protoc-c --version | head -n1)"
