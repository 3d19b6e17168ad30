-- The disk a host's instances and cached images really take, in bytes, as
-- its agent last measured (overlays are thin: far less than the disks'
-- sizes); NULL when the agent does not say (simulations, older agents).
ALTER TABLE hosts ADD COLUMN disk_used_bytes BIGINT;
