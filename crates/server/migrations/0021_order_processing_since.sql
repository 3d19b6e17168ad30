-- When the order last started processing (placed, or resumed after 3-D
-- Secure): an order still processing long after is stranded by a crash and
-- recovered by a job.
ALTER TABLE orders ADD COLUMN processing_since_ms BIGINT;
UPDATE orders SET processing_since_ms = created_at_ms WHERE status = 'processing';
CREATE INDEX orders_processing ON orders (status, processing_since_ms);
