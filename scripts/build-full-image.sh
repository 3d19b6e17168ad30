#!/usr/bin/env bash
# Builds a full Debian 12 cloud image offline from Debian packages, as the
# catalog's real images are: systemd, OpenSSH, cloud-init (which reads the
# agent's NoCloud seed and creates the `debian` user with the buyer's key),
# Debian's cloud kernel. Made without mounting anything, as the test image
# is: mmdebstrap into a directory, an ext4 root partition made from it
# (`mke2fs -d`), a FAT boot partition with syslinux, the kernel and its
# initramfs, an MBR; converted to qcow2. For `make test-full-image` (slow:
# minutes to build, about a minute to boot under software emulation), and
# for operators, who publish what it builds as the catalog's images
# (`sparecloud-server --publish-image ID=FILE`, or `image source`).
#
#   scripts/build-full-image.sh [OUT_DIR] [IMAGE]
#
# IMAGE: debian-12 (default), or one of the catalog's images built on it:
# lamp (Apache, MariaDB, PHP), lemp (nginx, MariaDB, PHP-FPM), postgresql
# (Debian 12's PostgreSQL, 15). OUT_DIR defaults to target/images/IMAGE-full.
#
# Writes OUT_DIR/{disk.qcow2,SHA256SUMS}; cached like the test image.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${2:-debian-12}
out=${1:-target/images/$image-full}
case "$image" in
  debian-12) extra= ;;
  lamp) extra=apache2,mariadb-server,php,libapache2-mod-php,php-mysql,curl ;;
  lemp) extra=nginx,mariadb-server,php-fpm,php-mysql,curl ;;
  postgresql) extra=postgresql ;;
  *) echo "build-full-image: unknown image $image (debian-12, lamp, lemp, postgresql)" >&2; exit 2 ;;
esac
. scripts/lib/bootable-disk.sh
fresh() { [ -f "$out/SHA256SUMS" ] && [ "$out/SHA256SUMS" -nt "$0" ] && [ "$out/SHA256SUMS" -nt scripts/lib/bootable-disk.sh ]; }
fresh && exit 0
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
fresh && exit 0
command -v mmdebstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
}
for tool in mmdebstrap mke2fs qemu-img mkfs.fat mcopy syslinux sfdisk; do
  command -v "$tool" >/dev/null || { echo "build-full-image: $tool is missing (make qemu installs it)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
final=$out
out="$work/out"
mkdir -p "$out"

# The application images' own files, copied in.
hooks=()
mkdir -p "$work/files"
if [ "$image" = lamp ] || [ "$image" = lemp ]; then
  echo '<?php echo "PHP " . PHP_VERSION . "\n";' > "$work/files/info.php"
  hooks+=(--customize-hook="copy-in $work/files/info.php /var/www/html")
fi
if [ "$image" = lemp ]; then
  # nginx serves PHP through PHP-FPM's socket.
  cat > "$work/files/default" <<'SITE'
server {
  listen 80 default_server;
  listen [::]:80 default_server;
  root /var/www/html;
  index index.php index.html index.nginx-debian.html;
  location / { try_files $uri $uri/ =404; }
  location ~ \.php$ { include snippets/fastcgi-php.conf; fastcgi_pass unix:/run/php/php-fpm.sock; }
}
SITE
  hooks+=(--customize-hook="copy-in $work/files/default /etc/nginx/sites-available")
fi
# The system, with what a cloud image has; the root filesystem by label.
mmdebstrap --mode=root --variant=important \
  --include=linux-image-cloud-amd64,initramfs-tools,systemd-sysv,openssh-server,cloud-init,sudo,ifupdown,isc-dhcp-client,netbase,cloud-guest-utils${extra:+,$extra} \
  "${hooks[@]}" \
  --customize-hook='echo "LABEL=root / ext4 defaults 0 1" > "$1/etc/fstab"' \
  --customize-hook='printf "auto lo\niface lo inet loopback\n\nauto ens3\niface ens3 inet dhcp\n" > "$1/etc/network/interfaces"' \
  --customize-hook='echo "datasource_list: [ NoCloud, None ]" > "$1/etc/cloud/cloud.cfg.d/90-sparecloud.cfg"' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  bookworm "$root" http://deb.debian.org/debian

kernel=$(ls "$root"/boot/vmlinuz-* | head -n 1)
initrd=$(ls "$root"/boot/initrd.img-* | head -n 1)
# The guest's NIC is eth0 with net.ifnames=0.
sed -i 's/ens3/eth0/' "$root/etc/network/interfaces"
root_mib=$(( $(du -sm "$root" | cut -f1) * 13 / 10 + 256 ))
mke2fs -q -t ext4 -L root -d "$root" "$work/root.ext4" "${root_mib}M"
bootable_disk "$work" "$kernel" "$initrd" 'root=LABEL=root rw console=ttyS0 net.ifnames=0 biosdevname=0' \
  "$work/root.ext4" "$out/disk.qcow2"

(cd "$out" && sha256sum disk.qcow2 > SHA256SUMS)
rm -rf "$final.old"
[ -e "$final" ] && mv "$final" "$final.old"
mv "$out" "$final"
rm -rf "$final.old"
echo "build-full-image: $final ($image)"
