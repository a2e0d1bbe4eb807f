package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"banger/internal/errdefs"
)

// DefaultKeyring is Debian's archive keyring, from the
// debian-archive-keyring package: the keys apt and debootstrap trust.
const DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// keyringFix says how to get a keyring banger can verify Debian with.
const keyringFix = "install it (sudo apt-get install debian-archive-keyring) " +
	"or set debian_keyring in banger's config to a keyring that holds Debian's archive keys"

// loadKeyring reads an OpenPGP keyring, binary (as Debian ships it) or
// armored.
func loadKeyring(path string) (openpgp.EntityList, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errdefs.FailedPrecondition("Debian's archive keyring %s is missing, so kernel packages cannot be verified: %s", path, keyringFix)
	}
	if err != nil {
		return nil, fmt.Errorf("reading keyring %s: %w", path, err)
	}
	keys, err := openpgp.ReadKeyRing(bytes.NewReader(data))
	if err != nil {
		keys, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	}
	if err != nil || len(keys) == 0 {
		return nil, errdefs.FailedPrecondition("keyring %s holds no OpenPGP keys (%v): %s", path, err, keyringFix)
	}
	return keys, nil
}

// clearsignedPrefix starts a clearsigned file; nothing may come before it.
var clearsignedPrefix = []byte("-----BEGIN PGP SIGNED MESSAGE-----")

// maxSignatures bounds how many signatures of one file are tried.
const maxSignatures = 8

// verifyClearsigned checks the clearsigned data against keys and returns
// the signed text. The file must be one clearsigned message with nothing
// around it. One good signature by a key of the ring suffices, as for
// apt: Debian signs each release with several keys, not all of which a
// host's keyring holds.
func verifyClearsigned(data []byte, keys openpgp.EntityList, now time.Time) ([]byte, error) {
	block, rest := clearsign.Decode(data)
	if block == nil || !bytes.HasPrefix(data, clearsignedPrefix) || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("it is not a single clearsigned message")
	}
	sig, err := io.ReadAll(block.ArmoredSignature.Body)
	if err != nil {
		return nil, fmt.Errorf("reading its signature: %w", err)
	}
	ring := &untriedKeys{keys: keys, tried: map[uint64]bool{}}
	cfg := &packet.Config{Time: func() time.Time { return now }}
	var first error
	for range maxSignatures {
		ring.last = 0
		_, _, err := openpgp.VerifyDetachedSignature(ring, bytes.NewReader(block.Bytes), bytes.NewReader(sig), cfg)
		if err == nil {
			return block.Plaintext, nil
		}
		if first == nil || errors.Is(first, pgperrors.ErrUnknownIssuer) {
			first = err
		}
		if ring.last == 0 {
			break // no signature left by a key of the ring
		}
		ring.tried[ring.last] = true
	}
	return nil, first
}

// untriedKeys is a keyring that offers each issuer's keys only until that
// issuer's signature has been tried. The library checks the first
// signature whose issuer it knows and stops there, so hiding the issuers
// tried already lets the next signature have its turn.
type untriedKeys struct {
	keys  openpgp.EntityList
	tried map[uint64]bool
	last  uint64 // the issuer whose keys were handed out last
}

func (k *untriedKeys) KeysById(id uint64) []openpgp.Key {
	if k.tried[id] {
		return nil
	}
	return k.keys.KeysById(id)
}

func (k *untriedKeys) KeysByIdUsage(id uint64, usage byte) []openpgp.Key {
	if k.tried[id] {
		return nil
	}
	found := k.keys.KeysByIdUsage(id, usage)
	if len(found) > 0 {
		k.last = id
	}
	return found
}

func (k *untriedKeys) DecryptionKeys() []openpgp.Key { return nil }

// signatureHint says what a failed signature check most likely means.
func signatureHint(err error) string {
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return "no key of the keyring made its signature: the mirror is not Debian's archive or was tampered with, " +
			"or the keyring is too old for this suite (upgrade debian-archive-keyring)"
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrSignatureExpired):
		return "the signing key or signature has expired: check this host's clock, and upgrade debian-archive-keyring"
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return "the signing key was revoked: upgrade debian-archive-keyring"
	default:
		return "the mirror may have been tampered with; try another debian_mirror"
	}
}
