// Package guestssh holds the keys banger needs to reach a guest with
// OpenSSH: the user's key pair, and a known_hosts file per VM filled with
// the host keys the guest agent reported over its private channel (so
// connections use strict host key checking and never trust on first use).
// The ssh command line that uses them is package sshcmd, which the CLI
// links without this package's key parsing.
package guestssh

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"banger/internal/atomicfile"
	"banger/internal/sshkey"

	"banger/internal/errdefs"
)

// EnsureKey returns the public half of the key pair at path (the private
// key; the public one is path+".pub"), creating an ed25519 pair when there
// is none. An existing private key without its .pub file is read to derive
// it, so users may point ssh_key_path at any unencrypted key.
func EnsureKey(path string) ([]byte, error) {
	keyMu.Lock() // creates of VMs run at once; one makes the pair
	defer keyMu.Unlock()
	if err := checkPrivateKey(path); err != nil {
		return nil, err
	}
	if pub, err := os.ReadFile(path + ".pub"); err == nil {
		if _, _, _, _, err := ssh.ParseAuthorizedKey(pub); err != nil {
			return nil, errdefs.InvalidArgument("%s.pub is not an ssh public key: %v", path, err)
		}
		return pub, nil
	}
	pub, err := publicOf(path)
	if errors.Is(err, fs.ErrNotExist) {
		return generate(path)
	}
	return pub, err
}

// keyMu makes EnsureKey's check-then-create one step within a process;
// generate's links do it between processes.
var keyMu sync.Mutex

// publicOf derives the public half of the private key at path.
func publicOf(path string) ([]byte, error) {
	priv, err := os.ReadFile(path)
	switch {
	case err == nil:
		signer, err := ssh.ParsePrivateKey(priv)
		if err != nil {
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return nil, errdefs.InvalidArgument("ssh key %s has a passphrase: banger needs its public half; create %s.pub with `ssh-keygen -y -f %s > %s.pub`", path, path, path, path)
			}
			return nil, errdefs.InvalidArgument("ssh key %s: %v", path, err)
		}
		return ssh.MarshalAuthorizedKey(signer.PublicKey()), nil
	}
	return nil, fmt.Errorf("reading ssh key: %w", err)
}

// checkPrivateKey refuses, with the fix, a private key that OpenSSH would
// refuse later (after a VM was made for nothing): one that others may read,
// or one this user cannot read. A missing key is fine when its public half
// is missing too (EnsureKey creates both).
func checkPrivateKey(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, perr := os.Stat(path + ".pub"); perr == nil {
			return errdefs.FailedPrecondition("ssh key %s is missing but %s.pub exists: restore the private key, delete the .pub to get a new pair, or set ssh_key_path", path, path)
		}
		return nil
	case err != nil:
		return errdefs.FailedPrecondition("ssh key %s: %v: make it readable by the user running banger", path, err)
	case st.IsDir():
		return errdefs.InvalidArgument("ssh key %s is a directory: set ssh_key_path to a private key file", path)
	case st.Mode().Perm()&0o077 != 0:
		return errdefs.FailedPrecondition("ssh key %s has mode %04o, and ssh refuses keys that others can read: run `chmod 600 %s`", path, st.Mode().Perm(), path)
	}
	f, err := os.Open(path)
	if err != nil {
		return errdefs.FailedPrecondition("ssh key %s cannot be read: %v: it must belong to the user running banger, mode 0600", path, errors.Unwrap(err))
	}
	return f.Close()
}

func generate(path string) ([]byte, error) {
	priv, sshPub, err := sshkey.New("banger")
	if err != nil {
		return nil, err
	}
	pub := append(bytes.TrimSuffix(ssh.MarshalAuthorizedKey(sshPub), []byte("\n")), " banger\n"...)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating ssh key dir: %w", err)
	}
	// Each half is written whole beside its place, then linked there,
	// which fails if the name exists: of two processes making a pair at
	// once one wins, and the other reads the winner's private key, never
	// half of it.
	if err := linkNew(path, priv, 0o600); errors.Is(err, fs.ErrExist) {
		return publicOf(path)
	} else if err != nil {
		return nil, err
	}
	if err := linkNew(path+".pub", pub, 0o644); err != nil && !errors.Is(err, fs.ErrExist) {
		os.Remove(path)
		return nil, err
	}
	return pub, nil
}

// linkNew puts a file with data at path, which must not exist yet.
func linkNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("creating %s: %w", path, err)
	}
	return nil
}

// WriteKnownHosts writes path so that OpenSSH accepts exactly hostKeys
// (authorized_keys-format lines) for the host alias. Keys that do not
// parse are an error: they came from a guest that is not behaving.
func WriteKnownHosts(path, alias string, hostKeys []string) error {
	var b strings.Builder
	for _, line := range hostKeys {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return fmt.Errorf("guest reported a bad host key %q: %w", line, err)
		}
		b.WriteString(alias + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + "\n")
	}
	if b.Len() == 0 {
		return errors.New("the guest reported no ssh host keys")
	}
	if err := atomicfile.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing known_hosts: %w", err)
	}
	return nil
}
