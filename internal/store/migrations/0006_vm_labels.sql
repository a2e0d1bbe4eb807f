-- Each VM's labels (see internal/label), as a JSON object of KEY to
-- VALUE; empty for none.
ALTER TABLE vms ADD COLUMN labels TEXT NOT NULL DEFAULT '';
-- When the VM is deleted on its own, in nanoseconds since the epoch; 0
-- for never, as every VM made before expiry existed.
ALTER TABLE vms ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
