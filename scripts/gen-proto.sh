#!/usr/bin/env bash
# Regenerates gen/ (Go code for the BatonService) from proto/. The one
# command for it: buf and both protoc plugins come from the Go module proxy
# at pinned versions through `go run`, so every machine produces the same
# bytes. scripts/check-generated.sh verifies that the committed gen/ matches.
#
#   scripts/gen-proto.sh            regenerate gen/ in place
#   scripts/gen-proto.sh OUTDIR     generate into OUTDIR/gen instead
set -euo pipefail

BUF_VERSION=v1.75.0

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# buf writes relative to the proto directory (out: ../gen); generate in a
# scratch copy so that OUTDIR may be anywhere.
cp -R "$root/proto" "$work/proto"
(cd "$work/proto" && go run "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION" generate)
rm -rf "$out/gen"
mkdir -p "$out"
cp -R "$work/gen" "$out/gen"
