#!/usr/bin/env bash
# First command of the README: install what is missing, build release, convert a bundled Mobile V-MoE
# fixture, verify it bit for bit, and run it on the fixture's images.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release
bin=.build/release
mkdir -p .build/quickstart
$bin/vmoe-convert fixtures/vmoe_shared/model.h5 .build/quickstart/vmoe_shared.vmoe
$bin/vmoe verify .build/quickstart/vmoe_shared.vmoe
$bin/vmoe run .build/quickstart/vmoe_shared.vmoe --input fixtures/vmoe_shared/inputs.npy --output .build/quickstart/logits.npy
$bin/vmoe inspect .build/quickstart/vmoe_shared.vmoe | head -n 12
