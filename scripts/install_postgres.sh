#!/usr/bin/env sh
# PostgreSQL server binaries (initdb, pg_ctl, postgres) for the real-Airflow tests (tests/real_airflow/).
# Debian/Ubuntu, as root (CI) or through sudo. Installs Debian's package only: no service is started or enabled,
# the tests run a throwaway cluster of their own. Safe to run again.
set -eu

found() {
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

if dir=$(found); then
  echo "postgresql already installed: $dir"
  exit 0
fi

. "$(dirname "$0")/apt_install.sh"
# policy-rc.d 101: the package's post-install must not start the distribution's own cluster service.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt_install postgresql
dir=$(found) || { echo "postgresql installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin" >&2; exit 1; }
echo "postgresql installed: $dir"
