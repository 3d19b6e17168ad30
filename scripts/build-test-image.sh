#!/usr/bin/env bash
# Builds the tiny test guest ("Sparecloud test image (busybox)") offline from
# Debian packages: Debian's cloud kernel, an initramfs of busybox-static and
# dropbear that reads a cloud-init NoCloud seed (`cidata`) for the hostname
# and the buyer's SSH keys, and a 64 MiB ext4 disk (qcow2) mounted as
# /root, so what a buyer writes there survives a stop and a start.
#
#   scripts/build-test-image.sh [OUT_DIR]     (default target/images/sparecloud-test)
#
# Writes OUT_DIR/{vmlinuz,initrd.img,disk.qcow2,SHA256SUMS}. Cached: does
# nothing when OUT_DIR/SHA256SUMS is newer than this script.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/images/sparecloud-test}
. scripts/lib/bootable-disk.sh
fresh() { [ -f "$out/SHA256SUMS" ] && [ "$out/SHA256SUMS" -nt "$0" ] && [ "$out/SHA256SUMS" -nt scripts/lib/bootable-disk.sh ]; }
fresh && exit 0
# One build at a time (tests may ask at once); a waiting one finds it built.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
fresh && exit 0
for tool in apt-get dpkg mke2fs qemu-img mkfs.fat mcopy syslinux sfdisk; do
  command -v "$tool" >/dev/null || { echo "build-test-image: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
debs="$work/debs" root="$work/root" initrd="$work/initrd"
# Built aside and moved into place whole: a reader never sees half an image.
final=$out
out="$work/out"
mkdir -p "$debs" "$root" "$initrd" "$out"

# The packages, extracted (no installation on this machine).
kernel_pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$kernel_pkg" ]; then
  apt-get update -qq
  kernel_pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
fi
download() {
  (cd "$debs" && apt-get download -qq "$kernel_pkg" busybox-static dropbear-bin libtomcrypt1 libtommath1 2>/dev/null)
}
# Stale package lists name versions the mirror no longer has: refresh once.
download || { apt-get update -qq && download; }
for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
kver=${kernel_pkg#linux-image-}
bb="$root/bin/busybox"

# The initramfs: busybox, dropbear with its libraries, a few modules.
mkdir -p "$initrd"/{bin,sbin,etc/acpi/PWRF,dev,proc,sys,tmp,run,root,mnt/seed,lib/modules,usr/sbin,lib64,lib/x86_64-linux-gnu}
cp "$bb" "$initrd/bin/busybox"
for applet in $("$bb" --list); do
  [ -e "$initrd/bin/$applet" ] || ln -s busybox "$initrd/bin/$applet"
done
cp "$root/usr/sbin/dropbear" "$initrd/usr/sbin/dropbear"
for lib in libtomcrypt.so.1 libtommath.so.1; do
  cp -L "$root/usr/lib/x86_64-linux-gnu/$lib" "$initrd/lib/x86_64-linux-gnu/"
done
for lib in libz.so.1 libcrypt.so.1 libc.so.6 libgmp.so.10; do
  cp -L "/lib/x86_64-linux-gnu/$lib" "$initrd/lib/x86_64-linux-gnu/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$initrd/lib64/"
mods="$root/lib/modules/$kver/kernel"
for m in drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko \
         drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko \
         drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko net/core/failover.ko \
         drivers/net/net_failover.ko drivers/net/virtio_net.ko drivers/cdrom/cdrom.ko fs/isofs/isofs.ko \
         drivers/input/evdev.ko drivers/acpi/button.ko; do
  [ -f "$mods/$m" ] && cp "$mods/$m" "$initrd/lib/modules/"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$initrd/etc/passwd"
echo 'root:x:0:' > "$initrd/etc/group"
echo '/bin/sh' > "$initrd/etc/shells"
echo 'nameserver 10.0.2.3' > "$initrd/etc/resolv.conf"
# The power button (QMP system_powerdown) stops the guest cleanly.
cat > "$initrd/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "sparecloud: powering off"
sync
umount /root 2>/dev/null
poweroff -f
EOF
chmod +x "$initrd/etc/acpi/PWRF/00000080"
cat > "$initrd/init" <<'EOF'
#!/bin/sh
# Sparecloud test image: a few lines of init instead of a distribution.
export PATH=/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         virtio_blk failover net_failover virtio_net cdrom isofs evdev button; do
  [ -f /lib/modules/$m.ko ] && { insmod /lib/modules/$m.ko || echo "sparecloud: cannot load $m"; }
done
sleep 1
# The buyer's disk, mounted as root's home: it keeps the buyer's files.
mount -t ext4 /dev/vda2 /root || echo "sparecloud: no disk"
mkdir -p /root/.ssh && chmod 700 /root/.ssh
# The cloud-init NoCloud seed: hostname and SSH keys.
for dev in /dev/vdb /dev/sr0; do
  [ -b "$dev" ] && mount -t iso9660 -o ro "$dev" /mnt/seed 2>/dev/null && break
done
if [ -f /mnt/seed/meta-data ]; then
  host=$(sed -n 's/^local-hostname: *//p' /mnt/seed/meta-data | head -n 1)
  [ -n "$host" ] && hostname "$host" && echo "$host" > /etc/hostname
fi
if [ -f /mnt/seed/user-data ]; then
  tr -d '"' < /mnt/seed/user-data \
    | sed -n 's/^ *- *\(ssh-[a-z0-9-]* .*\|ecdsa-sha2-[a-z0-9-]* .*\)$/\1/p' \
    | sort -u > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
mkdir -p /var/log /var/run
acpid -c /etc/acpi
mkdir -p /etc/dropbear
dropbear -R -E -p 22
echo "sparecloud: ready, hostname $(hostname)"
while true; do sleep 3600; done
EOF
chmod +x "$initrd/init"
(cd "$initrd" && find . | "$bb" cpio -o -H newc 2>/dev/null | gzip -9) > "$work/initrd.img"

# The buyer's partition: 64 MiB of ext4, mounted as /root.
mkdir -p "$work/data"
echo "This is the Sparecloud test image's disk: your files here survive a stop and a start." > "$work/data/README"
mke2fs -q -t ext4 -L sparecloud -d "$work/data" "$work/data.ext4" 64M

# The disk: it boots by itself, as a cloud image does.
bootable_disk "$work" "$root/boot/vmlinuz-$kver" "$work/initrd.img" 'console=ttyS0 quiet' \
  "$work/data.ext4" "$out/disk.qcow2"

(cd "$out" && sha256sum disk.qcow2 > SHA256SUMS)
rm -rf "$final.old"
[ -e "$final" ] && mv "$final" "$final.old"
mv "$out" "$final"
rm -rf "$final.old"
echo "build-test-image: $final ($kernel_pkg)"
