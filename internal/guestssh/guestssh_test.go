package guestssh

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"banger/internal/errdefs"
)

func TestEnsureKeyCreatesOnceAndReuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssh", "id_ed25519")
	pub, err := EnsureKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(pub), "ssh-ed25519 ") {
		t.Fatalf("public key = %q", pub)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, path + ".pub": 0o644, filepath.Dir(path): 0o700 | os.ModeDir} {
		st, err := os.Stat(p)
		if err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, st.Mode(), err, want)
		}
	}
	// The pair matches: the private key's public half is the .pub.
	priv, _ := os.ReadFile(path)
	signer, err := ssh.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, _ := ssh.ParseAuthorizedKey(pub)
	if string(pk.Marshal()) != string(signer.PublicKey().Marshal()) {
		t.Fatal("public key does not match the private key")
	}
	again, err := EnsureKey(path)
	if err != nil || string(again) != string(pub) {
		t.Fatalf("second EnsureKey = %q, %v; want the same key", again, err)
	}
	// ssh-keygen, the user's own tool, reads the private key.
	if _, err := exec.LookPath("ssh-keygen"); err == nil {
		out, err := exec.Command("ssh-keygen", "-y", "-f", path).Output()
		if err != nil || !strings.HasPrefix(string(pub), strings.TrimSpace(string(out))) {
			t.Fatalf("ssh-keygen -y = %q, %v", out, err)
		}
	}
}

func TestEnsureKeyDerivesMissingPub(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a")
	pub, err := EnsureKey(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path + ".pub")
	got, err := EnsureKey(path)
	if err != nil || !strings.HasPrefix(string(pub), strings.TrimSpace(string(got))) {
		t.Fatalf("derived %q, %v; want %q", got, err, pub)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureKey(filepath.Join(dir, "bad")); err == nil || !strings.Contains(err.Error(), "ssh key") {
		t.Fatalf("junk key: %v", err)
	}
}

func TestEnsureKeyRefusesKeysSSHWouldRefuse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "id")
	if _, err := EnsureKey(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := EnsureKey(path)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("world-readable key: %v, want a failed precondition with the chmod fix", err)
	}
	os.Remove(path)
	_, err = EnsureKey(path)
	if err == nil || !strings.Contains(err.Error(), "missing but "+path+".pub exists") {
		t.Fatalf("pub without private key: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("EnsureKey replaced a lost private key behind the user's back")
	}
	if _, err := EnsureKey(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory as key: %v", err)
	}
}

func TestKnownHosts(t *testing.T) {
	dir := t.TempDir()
	pub, err := EnsureKey(filepath.Join(dir, "host"))
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := WriteKnownHosts(kh, "banger-box", []string{string(pub)}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(kh)
	if !strings.HasPrefix(string(b), "banger-box ssh-ed25519 ") || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("known_hosts = %q", b)
	}
	if err := WriteKnownHosts(kh, "x", []string{"not a key"}); err == nil {
		t.Fatal("a bad host key was accepted")
	}
	if err := WriteKnownHosts(kh, "x", nil); err == nil {
		t.Fatal("no host keys was accepted")
	}
}

// VMs created at once on a fresh machine all ask for the key; one pair is
// made and every caller gets its public half.
func TestEnsureKeyAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssh", "id_ed25519")
	const n = 8
	pubs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { pubs[i], errs[i] = EnsureKey(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("EnsureKey %d of %d at once: %v", i, n, errs[i])
		}
		if !bytes.Equal(pubs[i], pubs[0]) {
			t.Fatalf("EnsureKey callers got different keys: %q and %q", pubs[0], pubs[i])
		}
	}
}

// Another process that made the pair first wins: generate reads its
// private key instead of failing or writing a second pair.
func TestGenerateLosingTheRaceReadsTheWinnersKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id_ed25519")
	want, err := generate(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path + ".pub") // the winner has not written its .pub yet
	got, err := generate(path)
	if err != nil {
		t.Fatalf("generate after another process made the key: %v", err)
	}
	if k1, _, _, _, _ := ssh.ParseAuthorizedKey(want); k1 == nil || !bytes.Contains(got, bytes.Fields(ssh.MarshalAuthorizedKey(k1))[1]) {
		t.Errorf("generate returned %q, want the winner's key %q", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".id_ed25519*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
