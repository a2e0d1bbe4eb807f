package api

import (
	"encoding/json"
	"time"

	"banger/internal/progress"
)

// StreamContentType marks a streamed answer: one JSON Event per line.
const StreamContentType = "application/x-ndjson"

// Event is one line of a streamed answer. Long operations (pulls, imports)
// stream progress events, then end with exactly one event that carries
// either Error or Result.
type Event struct {
	Progress *progress.Event `json:"progress,omitempty"`
	Error    *Error          `json:"error,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
}

// PullImageRequest asks for a catalog image to be built or fetched.
type PullImageRequest struct {
	Name string `json:"name"`
}

// RegisterImageRequest registers an existing ext4 rootfs as an image.
type RegisterImageRequest struct {
	Name   string `json:"name"`
	Rootfs string `json:"rootfs"`
	Kernel string `json:"kernel,omitempty"`
}

// ImportImageRequest imports a bundle from a file path or an http(s) URL.
// SHA256, the bundle file's sha256 learnt out of band, is checked when
// set and required for a plain http URL.
type ImportImageRequest struct {
	Source string `json:"source"`
	SHA256 string `json:"sha256,omitempty"`
}

// PullKernelRequest asks for a catalog kernel.
type PullKernelRequest struct {
	Name string `json:"name"`
}

// RegisterKernelRequest registers a user's own kernel file.
type RegisterKernelRequest struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Initrd string `json:"initrd,omitempty"`
}

// ImageDetail is `image show`: an image with its files and users.
type ImageDetail struct {
	Image
	RootfsPath     string   `json:"rootfs_path"`
	AllocatedBytes int64    `json:"allocated_bytes"`
	Digest         string   `json:"digest,omitempty"`
	UsedBy         []string `json:"used_by"`
	// Templates are the image's saved warm templates.
	Templates []WarmTemplate `json:"templates"`
}

// WarmTemplate is a saved, booted guest that VMs of one image and size
// are restored from instead of booting.
type WarmTemplate struct {
	Kernel    string    `json:"kernel"`
	VCPU      int       `json:"vcpu"`
	MemoryMiB int       `json:"memory_mib"`
	VMM       string    `json:"vmm"`
	Accel     string    `json:"accel"`
	Bytes     int64     `json:"bytes"`
	CreatedAt time.Time `json:"created_at"`
}

// WarmImageRequest asks for a warm template of an image at one size.
type WarmImageRequest struct {
	VCPU      int `json:"vcpu"`
	MemoryMiB int `json:"memory_mib"`
}

// KernelDetail is `kernel show`.
type KernelDetail struct {
	Kernel
	Path        string   `json:"path"`
	VmlinuxPath string   `json:"vmlinux_path,omitempty"`
	InitrdPath  string   `json:"initrd_path,omitempty"`
	UsedBy      []string `json:"used_by"`
}

// CatalogEntry is something banger knows how to pull.
type CatalogEntry struct {
	Kind        string `json:"kind"` // "image" or "kernel"
	Name        string `json:"name"`
	Description string `json:"description"`
	Local       bool   `json:"local"`
}
