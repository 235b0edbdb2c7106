#!/usr/bin/env sh
# Headless Chromium for the dashboard's browser test (tests/plugins/test_dashboard_browser.py).
# Debian/Ubuntu, as root (CI containers) or through sudo. Safe to run again.
set -eu

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  echo "chromium already installed: $(chromium --version 2>/dev/null || chromium-browser --version)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
chromium --version
