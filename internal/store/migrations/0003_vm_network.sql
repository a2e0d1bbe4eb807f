-- Each VM's network policy (see internal/network.ParsePolicy), in its
-- canonical form. VMs made before policies existed could reach everything
-- their host's forwarding allowed, so they keep that: "open".
ALTER TABLE vms ADD COLUMN network TEXT NOT NULL DEFAULT 'open';
