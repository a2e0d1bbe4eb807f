-- The workspace a VM was made with: the repository copied into its work
-- disk at create, as the daemon resolved it. Empty for a bare VM and for
-- VMs made before this was kept.
ALTER TABLE vms ADD COLUMN workspace_top TEXT NOT NULL DEFAULT '';
ALTER TABLE vms ADD COLUMN workspace_name TEXT NOT NULL DEFAULT '';
ALTER TABLE vms ADD COLUMN workspace_sub TEXT NOT NULL DEFAULT '';
ALTER TABLE vms ADD COLUMN workspace_from TEXT NOT NULL DEFAULT '';
ALTER TABLE vms ADD COLUMN workspace_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE vms ADD COLUMN workspace_branch TEXT NOT NULL DEFAULT '';
