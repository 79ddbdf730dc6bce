#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer + AddressSanitizer and runs one.
#   scripts/fuzz.sh [vmoe|onnx|npy] [SECONDS]      (default: vmoe 60)
# Crashers land in fuzz/build/crashers-TARGET; copy each into fuzz/crashers/ (vmoe) or
# fuzz/crashers-onnx/ (onnx) so the regression tests replay it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-vmoe}; secs=${2:-60}
out=fuzz/build; mkdir -p "$out/obj" "$out/corpus-$target" "$out/crashers-$target"
flags=(-sanitize=fuzzer,address -O -g -target-cpu haswell -module-cache-path "$out/cache" -I "$out/obj"
       -I Sources/CONNX/include -I Sources/CProtobufC)
build_module() {  # name
  swiftc "${flags[@]}" -parse-as-library -emit-module -emit-object -wmo -module-name "$1" \
    -emit-module-path "$out/obj/$1.swiftmodule" -o "$out/obj/$1.o" Sources/"$1"/*.swift
}
build_module VMoECore
build_module VMoEIR
case "$target" in
  vmoe)
    build_module VMoEFormat
    objs=("$out/obj/VMoECore.o" "$out/obj/VMoEIR.o" "$out/obj/VMoEFormat.o"); src=fuzz/FuzzVMoEReader.swift; extra=()
    if [ -z "$(ls -A "$out/corpus-$target")" ]; then
      swift build -c release --product vmoe-convert >/dev/null
      .build/release/vmoe-convert fixtures/bad/tiny_vit.h5 "$out/corpus-$target/tiny_vit.vmoe" --quiet --golden-count 1 >/dev/null
      cp fuzz/crashers/* "$out/corpus-$target/" 2>/dev/null || true
    fi ;;
  onnx)
    clang -O1 -g -fsanitize=fuzzer-no-link,address -w -I Sources/CONNX/include -c Sources/CONNX/onnx.pb-c.c -o "$out/obj/onnx.pb-c.o"
    build_module VMoEONNX
    objs=("$out/obj/VMoECore.o" "$out/obj/VMoEIR.o" "$out/obj/VMoEONNX.o" "$out/obj/onnx.pb-c.o"); src=fuzz/FuzzONNXImport.swift; extra=(-lprotobuf-c)
    [ -n "$(ls -A "$out/corpus-$target")" ] || cp fixtures/bad/*.onnx fuzz/crashers-onnx/* "$out/corpus-$target/" 2>/dev/null || true ;;
  npy)
    objs=("$out/obj/VMoECore.o"); src=fuzz/FuzzNPY.swift; extra=()
    [ -n "$(ls -A "$out/corpus-$target")" ] || cp fixtures/vit/reference_logits.npy "$out/corpus-$target/" ;;
  *) echo "unknown target $target (vmoe, onnx, npy)" >&2; exit 2 ;;
esac
swiftc "${flags[@]}" -parse-as-library "$src" "${objs[@]}" "${extra[@]}" -o "$out/fuzz-$target"
"$out/fuzz-$target" -max_total_time="$secs" -max_len=65536 -timeout=10 -artifact_prefix="$out/crashers-$target/" "$out/corpus-$target"
