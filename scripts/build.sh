#!/bin/sh
# build.sh builds cmd/conncred with its version, VCS revision and build date
# set from git, so `conncred version` tells them even where the toolchain
# records none (-buildvcs=false, a source tarball).
#
#   scripts/build.sh                 # writes ./conncred
#   OUT=/usr/local/bin/conncred scripts/build.sh
set -eu
cd "$(dirname "$0")/.."
version=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
	revision="$revision-dirty"
fi
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
exec go build -trimpath \
	-ldflags "-X main.version=$version -X main.revision=$revision -X main.buildDate=$date" \
	-o "${OUT:-conncred}" ./cmd/conncred
