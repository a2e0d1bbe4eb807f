-- The host ports forwarded to each VM (see internal/portfwd), as a JSON
-- array of {host_addr, host_port, guest_port, proto, bound}; bound is the
-- host port held while the VM runs. Empty for none.
ALTER TABLE vms ADD COLUMN ports TEXT NOT NULL DEFAULT '';
