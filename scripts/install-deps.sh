#!/usr/bin/env bash
# Installs the Debian 12 packages dmcard needs, only those missing (no prompt, works as root
# without a terminal; uses sudo when not root).
set -euo pipefail

packages=(
  g++ clang cmake ninja-build pkg-config clang-format
  libmbedtls-dev            # card-side crypto
  libssl-dev                # host-side crypto (OpenSSL)
  libgtest-dev libgmock-dev # unit tests
  libbenchmark-dev          # benchmarks
  nlohmann-json3-dev        # apdu-specs/ reader, card profiles
  libpugixml-dev libwbxml2-dev  # OMA DM TNDS documents (XML, WBXML)
  pcscd vsmartcard-vpcd libpcsclite-dev  # the PC/SC stack the card plugs into
  opensc pcsc-tools         # unmodified PC/SC clients (integration tests, first commands to try)
  libcli11-dev libedit-dev  # dmcard: options (CLI11), the shell's line editing and history (libedit)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "dmcard: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "dmcard: need root (or sudo) to apt-get install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
