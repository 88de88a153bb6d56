#!/usr/bin/env bash
# Headless Chromium for the system suite's browser test (Debian's `chromium` package). Idempotent: does nothing
# when `chromium` is already on PATH. Needs root (apt-get); prints what it does. Caches nothing outside apt's own.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure_chromium: chromium is missing and this is not root: install Debian's 'chromium' package" >&2
  exit 1
fi
echo "ensure_chromium: apt-get install chromium (headless browser for tests/system/test_ui_links.py)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium
