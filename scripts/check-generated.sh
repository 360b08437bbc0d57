#!/usr/bin/env bash
# Fails when the committed gen/ is not what scripts/gen-proto.sh makes from
# proto/ (someone edited a .proto and did not regenerate, or edited gen/ by
# hand). Needs the Go module proxy; CI runs it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$root/scripts/gen-proto.sh" "$tmp"
if ! diff -r "$root/gen" "$tmp/gen" >"$tmp/diff"; then
	cat "$tmp/diff" >&2
	echo "gen/ is stale: run scripts/gen-proto.sh and commit the result" >&2
	exit 1
fi
echo "gen/ is up to date"
