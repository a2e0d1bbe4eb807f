package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// injected reports what inject found in the tree.
type injected struct {
	hasInit bool
	hasSSHD bool
}

// inject makes the flattened tree bootable by banger: the guest agent,
// an init when the image has none, the image's run configuration, and the
// few files the guest setup writes into.
func inject(root, agentBin string, cfg ImageConfig) (injected, error) {
	var res injected
	if err := installAgent(root, agentBin); err != nil {
		return res, fmt.Errorf("installing agent: %w", err)
	}
	hasInit, err := executableIn(root, "sbin/init")
	if err != nil {
		return res, err
	}
	res.hasInit = hasInit
	if !hasInit {
		if err := linkInit(root); err != nil {
			return res, fmt.Errorf("installing agent as /sbin/init: %w", err)
		}
	}
	if res.hasSSHD, err = executableIn(root, "usr/sbin/sshd"); err != nil {
		return res, err
	}
	if err := writeConfig(root, cfg); err != nil {
		return res, fmt.Errorf("writing %s: %w", ConfigPath, err)
	}
	if err := ensureBasics(root); err != nil {
		return res, err
	}
	return res, nil
}

func installAgent(root, agentBin string) error {
	src, err := os.Open(agentBin)
	if err != nil {
		return err
	}
	defer src.Close()
	return installFile(root, AgentPath, src, 0o755)
}

// installFile writes guest path name inside root, replacing what is there.
func installFile(root, name string, r io.Reader, mode fs.FileMode) error {
	dir, base := path.Split(strings.TrimPrefix(name, "/"))
	parent, err := ensureDir(root, dir, 0o755)
	if err != nil {
		return err
	}
	p := filepath.Join(root, parent, base)
	if err := clearPath(p, false); err != nil {
		return err
	}
	if err := writeFile(p, r); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// executableIn reports whether guest path name, symlinks followed inside
// root, is an executable regular file.
func executableIn(root, name string) (bool, error) {
	r, err := resolveIn(root, name, true)
	if err != nil {
		return false, fmt.Errorf("looking for /%s: %w", name, err)
	}
	fi, err := os.Lstat(filepath.Join(root, r))
	if err != nil {
		return false, nil
	}
	return fi.Mode().IsRegular() && fi.Mode()&0o111 != 0, nil
}

// linkInit points /sbin/init at the agent, which then acts as init.
func linkInit(root string) error {
	parent, err := ensureDir(root, "sbin", 0o755)
	if err != nil {
		return err
	}
	p := filepath.Join(root, parent, "init")
	if err := clearPath(p, false); err != nil {
		return err
	}
	return os.Symlink(AgentPath, p)
}

func writeConfig(root string, cfg ImageConfig) error {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return installFile(root, ConfigPath, strings.NewReader(string(data)+"\n"), 0o644)
}

// ensureBasics creates /etc/hostname, /etc/resolv.conf and /root when the
// image lacks them. Existing ones, symlinks included, are left alone.
func ensureBasics(root string) error {
	for _, f := range []struct{ name, content string }{
		{"etc/hostname", "localhost\n"},
		{"etc/resolv.conf", ""},
	} {
		r, err := resolveIn(root, f.name, false)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(filepath.Join(root, r)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := installFile(root, f.name, strings.NewReader(f.content), 0o644); err != nil {
			return fmt.Errorf("creating /%s: %w", f.name, err)
		}
	}
	if _, err := ensureDir(root, "root", 0o700); err != nil {
		return fmt.Errorf("creating /root: %w", err)
	}
	return nil
}
