#!/usr/bin/env bash
# Installs what the agent's qemu driver and its tests need, when missing:
# QEMU's x86-64 system emulator, genisoimage (cloud-init seeds), an SSH
# client, nftables (the guests' firewall), the unprivileged user QEMU runs
# as (sparecloud-vm, in the kvm group where there is one), and what
# scripts/build-test-image.sh makes a bootable disk with (syslinux, mtools,
# dosfstools, sfdisk). Idempotent; run as root (apt-get).
#
# The machine image ships qemu-utils 10 from bookworm-backports, and
# bookworm's own qemu-system-x86 (7.2) refuses to install beside it
# (Breaks qemu-system-common < 1:8.0), so QEMU comes from backports too.
set -euo pipefail

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v genisoimage >/dev/null || missing+=(genisoimage)
command -v ssh >/dev/null || missing+=(openssh-client)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
command -v syslinux >/dev/null || missing+=(syslinux)
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || missing+=(syslinux-common)
command -v mcopy >/dev/null || missing+=(mtools)
command -v mkfs.fat >/dev/null || missing+=(dosfstools)
command -v sfdisk >/dev/null || missing+=(fdisk)
command -v nft >/dev/null || missing+=(nftables)
if ! id -u sparecloud-vm >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sparecloud-vm
fi
if getent group kvm >/dev/null && ! id -nG sparecloud-vm | grep -qw kvm; then
  usermod -aG kvm sparecloud-vm
fi
[ ${#missing[@]} -eq 0 ] && exit 0

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
list=/etc/apt/sources.list.d/sparecloud-backports.list
if ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian ${codename}-backports main" > "$list"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# QEMU's packages from backports (they must match qemu-utils); the rest as usual.
qemu=(qemu-system-x86 qemu-system-common qemu-system-data seabios ipxe-qemu)
others=()
for p in "${missing[@]}"; do
  [ "$p" = qemu-system-x86 ] || others+=("$p")
done
if [[ " ${missing[*]} " == *" qemu-system-x86 "* ]]; then
  apt-get install -y -qq --no-install-recommends -t "${codename}-backports" "${qemu[@]}"
fi
if [ ${#others[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${others[@]}"
fi
