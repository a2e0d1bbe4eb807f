// Package oci turns a container image from an OCI registry into a bootable
// ext4 root filesystem: it resolves the reference, keeps layer blobs in a
// content-addressed cache, flattens the layers itself (whiteouts included),
// installs banger's guest agent and runs mkfs.ext4 over the result.
package oci

import (
	"context"
	"os/exec"

	"banger/internal/guestabi"
	"banger/internal/progress"
)

// Paths inside the guest filesystem that Pull writes.
const (
	// AgentPath is where the guest agent is installed.
	AgentPath = guestabi.AgentPath
	// ConfigPath holds the image's run configuration as JSON (ImageConfig).
	ConfigPath = "/etc/banger/oci-config.json"
)

// PullOptions says what to pull and where to put it.
type PullOptions struct {
	// Ref is "oci://REGISTRY/REPO:TAG" or a plain reference such as
	// "docker.io/library/debian:bookworm" or "debian:bookworm"; digests are
	// accepted.
	Ref string
	// CacheDir holds blobs by content (sha256/<hex>), shared between images.
	CacheDir string
	// WorkDir is scratch space for the flattened tree; it defaults to the
	// directory of Out.
	WorkDir string
	// Out is the ext4 image to create. It must not exist.
	Out string
	// AgentBin is the host path of the static guest agent.
	AgentBin string
	// Size is the ext4 size in bytes; 0 sizes it from the content.
	Size int64
	// MaxUnpacked bounds the bytes the layers may unpack, all together;
	// 0 means DefaultMaxUnpacked.
	MaxUnpacked int64
	// Platform is "os/arch[/variant]", default linux/amd64.
	Platform string
	// Insecure allows plain-http registries.
	Insecure bool
	// Progress receives step and byte reports; nil drops them.
	Progress progress.Func
	// Runner builds the mkfs.ext4 command; nil means exec.CommandContext.
	Runner func(ctx context.Context, name string, args ...string) *exec.Cmd
}

// ImageConfig is the part of the image configuration the guest needs to run
// the image's process. It is written to ConfigPath.
type ImageConfig struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkDir    string   `json:"workdir,omitempty"`
	User       string   `json:"user,omitempty"`
}

// Result describes a finished pull.
type Result struct {
	// Digest is the platform image's manifest digest.
	Digest string
	// Config is the image's run configuration.
	Config ImageConfig
	// HasInit reports whether the image brought its own /sbin/init; when
	// false, /sbin/init is a symlink to the agent.
	HasInit bool
	// HasSSHD reports whether /usr/sbin/sshd exists.
	HasSSHD bool
	// SizeBytes is the size of the ext4 image.
	SizeBytes int64
	// Warnings lists what could not be reproduced faithfully, such as file
	// ownership when not running as root.
	Warnings []string
}
