#!/usr/bin/env bash
# Debian packages the data recipes and tests need: three speech synthesizers (espeak-ng; flite with its
# voices kal, kal16, awb, rms, slt; festival with the kal, ked and slt voices), so that speech training and
# dev sets can be split by engine and voice; and chromium with its driver for the web page's browser tests
# (never a downloaded browser). Called by `make test` / `make train-speech`; installs only what is missing,
# so it is safe to rerun.
#   --image: also what `make image-check` runs (podman with runc, debootstrap for the base image, and
#   Prometheus to scrape the container)
set -euo pipefail
PACKAGES=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts chromium chromium-driver)
if [[ ${1:-} == --image ]]; then
    PACKAGES+=(podman runc debootstrap prometheus)
fi
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
