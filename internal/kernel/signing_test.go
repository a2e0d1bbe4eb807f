package kernel

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// testKeyConfig makes small, fast Ed25519 keys.
var testKeyConfig = &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}

// testKeys are made once per test binary: the archive key the test
// keyring trusts, and a stranger's key it does not hold.
var testKeys = sync.OnceValues(func() ([2]*openpgp.Entity, error) {
	var keys [2]*openpgp.Entity
	for i, name := range []string{"Test Archive Signing Key", "Stranger"} {
		e, err := openpgp.NewEntity(name, "", "", testKeyConfig)
		if err != nil {
			return keys, err
		}
		keys[i] = e
	}
	return keys, nil
})

func archiveKey(t *testing.T) *openpgp.Entity  { return testKey(t, 0) }
func strangerKey(t *testing.T) *openpgp.Entity { return testKey(t, 1) }

func testKey(t *testing.T, i int) *openpgp.Entity {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatalf("generating test keys: %v", err)
	}
	return keys[i]
}

// writeKeyring writes the public keys of entities as a binary keyring,
// the way debian-archive-keyring ships its own.
func writeKeyring(t *testing.T, entities ...*openpgp.Entity) string {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range entities {
		if err := e.Serialize(&buf); err != nil {
			t.Fatalf("serializing key: %v", err)
		}
	}
	path := filepath.Join(t.TempDir(), "keyring.gpg")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// clearsignWith signs text with every key given, in order, as one
// clearsigned message.
func clearsignWith(t *testing.T, text string, cfg *packet.Config, signers ...*openpgp.Entity) []byte {
	t.Helper()
	keys := make([]*packet.PrivateKey, len(signers))
	for i, e := range signers {
		keys[i] = e.PrivateKey
	}
	var buf bytes.Buffer
	w, err := clearsign.EncodeMulti(&buf, keys, cfg)
	if err != nil {
		t.Fatalf("clearsign: %v", err)
	}
	if _, err := w.Write([]byte(text)); err != nil {
		t.Fatalf("clearsign: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("clearsign: %v", err)
	}
	return buf.Bytes()
}
