package api

// VMStats is what a running VM costs the host and what its guest says it
// uses (GET /v1/vms/{name}/stats). Guest is null when the guest agent
// could not say (an agent from before stats, or one that does not
// answer); GuestError says why.
type VMStats struct {
	Name       string      `json:"name"`
	VMM        VMMStats    `json:"vmm"`
	Guest      *GuestStats `json:"guest"`
	GuestError string      `json:"guest_error,omitempty"`
}

// VMMStats is the VMM process's share of the host.
type VMMStats struct {
	PID int `json:"pid"`
	// CPUPercent is the CPU time used over the last interval (at least a
	// quarter second, or since the VM's previous stats request when that
	// was at most 10 s ago): 100 is one host core busy.
	CPUPercent float64 `json:"cpu_percent"`
	// RSSBytes is the VMM's resident memory; PSSBytes its proportional
	// share of it (0 when the host kernel does not say).
	RSSBytes uint64 `json:"rss_bytes"`
	PSSBytes uint64 `json:"pss_bytes"`
	// DiskBytes is the host space the VM's disk files take (allocated
	// blocks, not apparent size).
	DiskBytes uint64 `json:"disk_bytes"`
}

// GuestStats is the guest's own account of its resources.
type GuestStats struct {
	MemTotalBytes uint64 `json:"mem_total_bytes"`
	// MemUsedBytes is MemTotal less MemAvailable, from /proc/meminfo.
	MemUsedBytes uint64 `json:"mem_used_bytes"`
	// Load is the 1, 5 and 15 minute load averages.
	Load          [3]float64 `json:"load"`
	UptimeSeconds float64    `json:"uptime_seconds"`
	// Filesystems are / and /root (the work disk), as the guest mounts
	// them; a filesystem the guest could not read is left out.
	Filesystems []FSStats `json:"filesystems"`
}

// FSStats is one guest filesystem's size and use.
type FSStats struct {
	Path       string `json:"path"`
	TotalBytes uint64 `json:"total_bytes"`
	UsedBytes  uint64 `json:"used_bytes"`
	AvailBytes uint64 `json:"avail_bytes"`
}
