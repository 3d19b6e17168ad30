-- The tiny test guest (busybox and dropbear, built from Debian packages by
-- scripts/build-test-image.sh): its own catalog entry, named for what it
-- is, so a buyer who picks "Debian 12" never gets it instead.
INSERT INTO images (id, name, os, description, min_disk_gib, sort_order) VALUES
  ('sparecloud-test', 'Sparecloud test image (busybox)', 'Linux 6.1 with busybox and dropbear',
   'A tiny Linux that boots in seconds, for trying a real machine out: SSH in as root; your files in /root are kept.', 1, 7);
