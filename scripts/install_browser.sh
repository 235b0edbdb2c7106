#!/usr/bin/env sh
# Headless Chromium for the dashboard's browser test (tests/plugins/test_dashboard_browser.py).
# Debian/Ubuntu, as root (CI containers) or through sudo. Safe to run again.
set -eu

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  echo "chromium already installed: $(chromium --version 2>/dev/null || chromium-browser --version)"
  exit 0
fi

. "$(dirname "$0")/apt_install.sh"
apt_install chromium fonts-dejavu-core
chromium --version
