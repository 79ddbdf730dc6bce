#!/usr/bin/env bash
# Builds the .vmoe reader fuzz target with libFuzzer + AddressSanitizer and runs it.
#   scripts/fuzz.sh [SECONDS]      (default 60)
# Seeds: .vmoe files converted from the fixtures. Crashers land in fuzz/build/crashers; copy each to
# Tests/VMoEFormatTests/Crashers/ so FuzzRegressionTests replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=fuzz/build; mkdir -p "$out/obj" "$out/corpus" "$out/crashers"
flags=(-sanitize=fuzzer,address -O -g -target-cpu haswell -module-cache-path "$out/cache")
build_module() {  # name, deps...
  local name=$1; shift
  swiftc "${flags[@]}" -parse-as-library -emit-module -emit-object -wmo -module-name "$name" \
    -I "$out/obj" -emit-module-path "$out/obj/$name.swiftmodule" -o "$out/obj/$name.o" Sources/"$name"/*.swift
}
build_module VMoECore
build_module VMoEIR
build_module VMoEFormat
swiftc "${flags[@]}" -parse-as-library -I "$out/obj" fuzz/FuzzVMoEReader.swift \
  "$out/obj/VMoECore.o" "$out/obj/VMoEIR.o" "$out/obj/VMoEFormat.o" -o "$out/fuzz-vmoe-reader"
if [ -z "$(ls -A "$out/corpus")" ]; then
  swift build -c release --product vmoe-convert >/dev/null
  .build/release/vmoe-convert fixtures/bad/tiny_vit.h5 "$out/corpus/tiny_vit.vmoe" --quiet --golden-count 1
  cp Tests/VMoEFormatTests/Crashers/* "$out/corpus/" 2>/dev/null || true
fi
"$out/fuzz-vmoe-reader" -max_total_time="$secs" -max_len=65536 -artifact_prefix="$out/crashers/" "$out/corpus"
