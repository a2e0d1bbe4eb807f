-- What a VM needs to run and be found again after a daemon restart.
ALTER TABLE vms ADD COLUMN vid TEXT NOT NULL DEFAULT '';        -- short stable id: run dir, tap name
ALTER TABLE vms ADD COLUMN accel TEXT NOT NULL DEFAULT '';      -- "kvm" or "tcg" while running
ALTER TABLE vms ADD COLUMN root_mode TEXT NOT NULL DEFAULT '';  -- "clone" or "overlay"
ALTER TABLE vms ADD COLUMN tap TEXT NOT NULL DEFAULT '';        -- host tap while running
ALTER TABLE vms ADD COLUMN mac TEXT NOT NULL DEFAULT '';
ALTER TABLE vms ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
-- A guest address belongs to one VM at a time.
CREATE UNIQUE INDEX vms_ip ON vms (ip) WHERE ip <> '';
CREATE UNIQUE INDEX vms_vid ON vms (vid) WHERE vid <> '';
