package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
)

// TestIdentifyNoSSHWait: a caller that runs its commands through the
// agent gets its answer once the identity is taken, though sshd does not
// accept connections yet; without NoSSHWait the answer waits for sshd.
func TestIdentifyNoSSHWait(t *testing.T) {
	for _, noWait := range []bool{true, false} {
		g := newGuest(t) // nothing listens on its port 22
		keys := g.addHostKeys(t)
		g.opts.Identify = func(context.Context, agentproto.Identity) error { return nil }
		host, _ := pipeHost(t, g.opts)
		c := agentclient.NewConn(host)
		id := agentproto.Identity{Hostname: "clone", TimeUnixNano: 42, NoSSHWait: noWait}
		st, err := c.Identify(testCtx(t), id, 200*time.Millisecond)
		if noWait {
			if err != nil || !st.Ready || !st.SSH || len(st.HostKeys) != 2 || st.HostKeys[0] != keys[0] {
				t.Fatalf("Identify without waiting for sshd = %+v, %v; want ready with the host keys", st, err)
			}
			continue
		}
		if err == nil || st.Ready || !strings.Contains(st.Reason, "sshd") {
			t.Fatalf("Identify waiting for an sshd that never listens = %+v, %v; want not ready, saying why", st, err)
		}
	}
}

// TestHostKeyPair: the key the host sends is the one the guest keeps;
// without one, the guest makes its own, different each time; a key that
// is not an ed25519 key in OpenSSH form is refused.
func TestHostKeyPair(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sent := pem.EncodeToMemory(block)
	got, pub, err := hostKeyPair(sent)
	want, _ := ssh.NewPublicKey(priv.Public())
	if err != nil || string(got) != string(sent) || string(pub.Marshal()) != string(want.Marshal()) {
		t.Fatalf("hostKeyPair(sent) = %q, %v, %v; want the sent key and its public half", got, pub, err)
	}
	a, pa, errA := hostKeyPair(nil)
	b, pb, errB := hostKeyPair(nil)
	if errA != nil || errB != nil || string(a) == string(b) || string(pa.Marshal()) == string(pb.Marshal()) || pa.Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("two keys made in the guest: %v %v, equal %v; want two different ed25519 keys", errA, errB, string(a) == string(b))
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecBlock, err := ssh.MarshalPrivateKey(ec, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := hostKeyPair(pem.EncodeToMemory(ecBlock)); err == nil || !strings.Contains(err.Error(), "not ed25519") {
		t.Fatalf("hostKeyPair(ecdsa) = %v; want a refusal", err)
	}
	if _, _, err := hostKeyPair([]byte("not a key")); err == nil || !strings.Contains(err.Error(), "host's ssh host key") {
		t.Fatalf("hostKeyPair(garbage) = %v; want an error naming the host's key", err)
	}
}

// TestSSHDHoldsKeys: sshd is reloaded for a new host key only where it
// keeps its keys in memory, OpenSSH 9.8 and later, which ship
// sshd-session.
func TestSSHDHoldsKeys(t *testing.T) {
	dir := t.TempDir()
	session := filepath.Join(dir, "sshd-session")
	paths := []string{filepath.Join(dir, "elsewhere", "sshd-session"), session}
	if sshdHoldsKeys(paths) {
		t.Error("without sshd-session (OpenSSH 9.7 or older, which reads its keys per connection) sshd would be reloaded")
	}
	if err := os.WriteFile(session, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if !sshdHoldsKeys(paths) {
		t.Error("with sshd-session (OpenSSH 9.8 or later) sshd would keep serving the template's key")
	}
}
