-- The first schema: VMs, images and kernels, each keyed by a unique name.
-- Times are unix nanoseconds, UTC. There are no foreign keys between vms and
-- images or kernels yet: images may be removed and pulled again under a VM.

CREATE TABLE vms (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE CHECK (name <> ''),
    state       TEXT    NOT NULL CHECK (state <> ''),
    image       TEXT    NOT NULL,
    kernel      TEXT    NOT NULL,
    vmm         TEXT    NOT NULL CHECK (vmm IN ('qemu', 'firecracker')),
    vcpu        INTEGER NOT NULL CHECK (vcpu > 0),
    memory_mib  INTEGER NOT NULL CHECK (memory_mib > 0),
    disk_bytes  INTEGER NOT NULL CHECK (disk_bytes >= 0),
    ip          TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE images (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE CHECK (name <> ''),
    source      TEXT    NOT NULL CHECK (source <> ''),
    rootfs_path TEXT    NOT NULL CHECK (rootfs_path <> ''),
    kernel      TEXT    NOT NULL,
    size_bytes  INTEGER NOT NULL CHECK (size_bytes >= 0),
    digest      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE kernels (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE CHECK (name <> ''),
    version      TEXT    NOT NULL,
    path         TEXT    NOT NULL CHECK (path <> ''),
    vmlinux_path TEXT    NOT NULL,
    initrd_path  TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
