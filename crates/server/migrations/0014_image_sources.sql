-- Where each catalog image's disk comes from, for hosts that run real
-- machines: a URL (absolute, or a path on this server for images it
-- publishes itself), its SHA-256 and format; and the user the buyer's SSH
-- key is installed for. An image without a source runs only on simulated
-- hosts. Operators set sources with `sparecloud-server image source`.
ALTER TABLE images ADD COLUMN source_url TEXT;
ALTER TABLE images ADD COLUMN source_sha256 TEXT;
ALTER TABLE images ADD COLUMN source_format TEXT NOT NULL DEFAULT 'qcow2';
ALTER TABLE images ADD COLUMN login_user TEXT NOT NULL DEFAULT 'debian';
UPDATE images SET login_user = 'ubuntu' WHERE id IN ('ubuntu-24.04', 'docker');
UPDATE images SET login_user = 'root' WHERE id = 'sparecloud-test';
