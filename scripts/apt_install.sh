# Sourced by scripts/install_*.sh: Debian/Ubuntu packages as root (CI containers) or through sudo.
#   . "$(dirname "$0")/apt_install.sh"; apt_install PACKAGE...
# $SUDO ("" as root, else "sudo") is set for the caller's own root steps.

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

apt_install() {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}
