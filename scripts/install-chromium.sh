#!/usr/bin/env bash
# Installs Debian's chromium for the web console's browser tests
# (webconsole/browser_test.go). Idempotent: it does nothing when
# /usr/bin/chromium is already there. It needs root (CI runs as root) and
# reaches only Debian's package archive.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium is installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium.sh: needs root to apt-get install chromium (run it with sudo)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# fonts-liberation gives the screenshots and axe's contrast checks real
# fonts with known metrics instead of whatever fallback the image has.
apt-get install -y -q --no-install-recommends chromium fonts-liberation
/usr/bin/chromium --version
