package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// injected reports what inject found in the tree.
type injected struct {
	hasInit bool
	hasSSHD bool
}

// inject makes the flattened tree bootable by banger: the guest agent,
// an init when the image has none, the image's run configuration, and the
// few files the guest setup writes into. The tree is the image's: every
// path is resolved inside it and every change goes through os.Root.
func inject(tree, agentBin string, cfg ImageConfig) (injected, error) {
	root, err := os.OpenRoot(tree)
	if err != nil {
		return injected{}, fmt.Errorf("opening scratch tree: %w", err)
	}
	defer root.Close()
	return injectIn(root, agentBin, cfg)
}

func injectIn(root *os.Root, agentBin string, cfg ImageConfig) (injected, error) {
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

func installAgent(root *os.Root, agentBin string) error {
	src, err := os.Open(agentBin)
	if err != nil {
		return err
	}
	defer src.Close()
	return installFile(root, AgentPath, src, 0o755)
}

// installFile writes guest path name inside root, replacing what is there.
func installFile(root *os.Root, name string, r io.Reader, mode fs.FileMode) error {
	dir, base := path.Split(strings.TrimPrefix(name, "/"))
	parent, err := ensureDir(root, dir, 0o755)
	if err != nil {
		return err
	}
	rel := path.Join(parent, base)
	if _, err := clearPath(root, rel, false); err != nil {
		return err
	}
	if err := writeFile(root, rel, r); err != nil {
		return err
	}
	return root.Chmod(rel, mode)
}

// executableIn reports whether guest path name, symlinks followed inside
// root, is an executable regular file.
func executableIn(root *os.Root, name string) (bool, error) {
	r, err := resolveIn(root, name, true)
	if err != nil {
		return false, fmt.Errorf("looking for /%s: %w", name, err)
	}
	fi, err := root.Lstat(r)
	if err != nil {
		return false, nil
	}
	return fi.Mode().IsRegular() && fi.Mode()&0o111 != 0, nil
}

// linkInit points /sbin/init at the agent, which then acts as init.
func linkInit(root *os.Root) error {
	parent, err := ensureDir(root, "sbin", 0o755)
	if err != nil {
		return err
	}
	rel := path.Join(parent, "init")
	if _, err := clearPath(root, rel, false); err != nil {
		return err
	}
	return root.Symlink(AgentPath, rel)
}

func writeConfig(root *os.Root, cfg ImageConfig) error {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return installFile(root, ConfigPath, strings.NewReader(string(data)+"\n"), 0o644)
}

// ensureBasics creates /etc/hostname, /etc/resolv.conf and /root when the
// image lacks them. Existing ones, symlinks included, are left alone.
func ensureBasics(root *os.Root) error {
	for _, f := range []struct{ name, content string }{
		{"etc/hostname", "localhost\n"},
		{"etc/resolv.conf", ""},
	} {
		r, err := resolveIn(root, f.name, false)
		if err != nil {
			return err
		}
		if _, err := root.Lstat(r); !errors.Is(err, fs.ErrNotExist) {
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
