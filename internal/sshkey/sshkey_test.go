package sshkey

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestNew: the private key parses back to a signer of the public half,
// it is ed25519, and two keys differ.
func TestNew(t *testing.T) {
	priv, pub, err := New("banger")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(priv)
	if err != nil {
		t.Fatalf("the private key does not parse: %v", err)
	}
	if !bytes.Equal(signer.PublicKey().Marshal(), pub.Marshal()) || pub.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("public half %s of type %s does not match the private key", ssh.MarshalAuthorizedKey(pub), pub.Type())
	}
	other, _, err := New("banger")
	if err != nil || bytes.Equal(other, priv) {
		t.Errorf("two keys made: equal %v, %v", bytes.Equal(other, priv), err)
	}
}
