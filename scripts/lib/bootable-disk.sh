# Sourced by the image builders (scripts/build-*-image.sh): a disk that
# boots by itself, as cloud images do, made from files without mounting
# anything.
#
#   bootable_disk WORK KERNEL INITRD APPEND PART2 OUT
#
# Writes OUT (qcow2, compressed): an MBR with syslinux's boot code, a FAT
# boot partition with syslinux, KERNEL, INITRD and the kernel command line
# APPEND, and PART2 (a filesystem image) as the second partition. WORK is
# a scratch directory.
bootable_disk() {
  local work=$1 kernel=$2 initrd=$3 append=$4 part2=$5 out=$6
  local mib=1048576
  local boot_mib=$(( ($(stat -c %s "$kernel") + $(stat -c %s "$initrd")) / mib + 16 ))
  local part2_mib=$(( ($(stat -c %s "$part2") + mib - 1) / mib ))
  local fat="$work/boot.fat" disk="$work/disk.raw"
  printf '%s\n' 'DEFAULT linux' 'PROMPT 0' 'TIMEOUT 0' 'LABEL linux' \
    '  LINUX /vmlinuz' '  INITRD /initrd.img' "  APPEND $append" > "$work/syslinux.cfg"
  mkfs.fat -C -n SCBOOT "$fat" $((boot_mib * 1024)) >/dev/null
  mcopy -i "$fat" "$kernel" ::vmlinuz
  mcopy -i "$fat" "$initrd" ::initrd.img
  mcopy -i "$fat" "$work/syslinux.cfg" ::syslinux.cfg
  syslinux --install "$fat"
  truncate -s $((1 + boot_mib + part2_mib + 1))M "$disk"
  printf 'label: dos\nstart=1MiB, size=%sMiB, type=6, bootable\nstart=%sMiB, size=%sMiB, type=83\n' \
    "$boot_mib" $((1 + boot_mib)) "$part2_mib" | sfdisk -q "$disk"
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
  dd if="$fat" of="$disk" bs=1M seek=1 conv=notrunc status=none
  dd if="$part2" of="$disk" bs=1M seek=$((1 + boot_mib)) conv=notrunc status=none
  qemu-img convert -f raw -O qcow2 -c "$disk" "$out"
  rm -f "$fat" "$disk"
}
