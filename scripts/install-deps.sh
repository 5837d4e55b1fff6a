#!/usr/bin/env bash
# Installs the Debian 12 packages gdsweep needs to build, test and analyse (idempotent:
# only missing packages are installed, so a second run takes about a second). Needs root.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git
      openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
      libfftw3-dev libfftw3-mpi-dev libscalapack-openmpi-dev libopenblas-dev liblapacke-dev
      libcmocka-dev libyaml-dev librandom123-dev libpng-dev
      python3-h5py python3-numpy python3-scipy python3-matplotlib python3-pytest python3-yaml python3-xarray
      netcdf-bin slurm-wlm munge
      procps)  # pgrep, used by the integration tests
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root (or install them with apt-get)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all ${#pkgs[@]} packages present" >&2
