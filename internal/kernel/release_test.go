package kernel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"banger/internal/errdefs"
)

const cloudPkg = "linux-image-cloud-amd64"

// resolveErr resolves the cloud kernel from src and returns the error,
// failing the test when it resolves.
func resolveErr(t *testing.T, src Source) error {
	t.Helper()
	p, err := src.Resolve(context.Background(), cloudPkg)
	if err == nil {
		t.Fatalf("Resolve = %+v, want it refused", p)
	}
	return err
}

func wantErr(t *testing.T, err error, kind error, words ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %q is not %v", err, kind)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not say %q", err, w)
		}
	}
}

func TestResolveRefusesTamperedIndex(t *testing.T) {
	a := newArchive(t, []byte("the real package"), ".xz", xzBytes)
	// The mirror swaps the index for one that names its own .deb.
	evil := newArchive(t, []byte("the mirror's package"), ".xz", xzBytes)
	a[distsDir+indexPath+".xz"] = evil[distsDir+indexPath+".xz"]
	err := resolveErr(t, a.serve(t))
	wantErr(t, err, errdefs.ErrUnavailable, "does not match the signed release", "tampered")
}

func TestResolveRefusesUnsignedRelease(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".xz", xzBytes)
	a[distsDir+"InRelease"] = []byte(a.releaseText(testRelease))
	err := resolveErr(t, a.serve(t))
	wantErr(t, err, errdefs.ErrFailedPrecondition, "InRelease", "not a single clearsigned message")
}

func TestResolveRefusesAlteredSignedText(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".xz", xzBytes)
	xz := distsDir + indexPath + ".xz"
	realSum := sha256Hex(a[xz])
	a[xz] = newArchive(t, []byte("the mirror's package"), ".xz", xzBytes)[xz]
	// The mirror keeps the signature and lists its own index instead.
	signed := a[distsDir+"InRelease"]
	a[distsDir+"InRelease"] = bytes.Replace(signed, []byte(realSum), []byte(sha256Hex(a[xz])), 1)
	if bytes.Equal(a[distsDir+"InRelease"], signed) {
		t.Fatal("test did not alter the signed text")
	}
	err := resolveErr(t, a.serve(t))
	wantErr(t, err, errdefs.ErrFailedPrecondition, "verifying", "InRelease", "tampered")
}

func TestResolveRefusesUnknownSigner(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".xz", xzBytes)
	a.sign(t, testRelease, strangerKey(t))
	err := resolveErr(t, a.serve(t))
	wantErr(t, err, errdefs.ErrFailedPrecondition, "no key of the keyring made its signature")
}

func TestResolveRefusesOtherSuite(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".xz", xzBytes)
	a.sign(t, "Suite: oldoldstable\nCodename: bullseye\n", archiveKey(t))
	err := resolveErr(t, a.serve(t))
	wantErr(t, err, errdefs.ErrFailedPrecondition, `"bullseye"`, `not "bookworm"`)
}

func TestResolveAcceptsSuiteByEitherName(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".xz", xzBytes)
	for name, body := range a {
		if rel, ok := strings.CutPrefix(name, distsDir); ok {
			a["dists/oldstable/"+rel] = body
		}
	}
	src := a.serve(t)
	src.Suite = "oldstable"
	if _, err := src.Resolve(context.Background(), cloudPkg); err != nil {
		t.Fatalf("Resolve by suite name: %v", err)
	}
}

func TestResolveRefusesExpiredRelease(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".xz", xzBytes)
	a.sign(t, testRelease+"Valid-Until: Sat, 01 Jan 2022 00:00:00 UTC\n", archiveKey(t))
	err := resolveErr(t, a.serve(t))
	wantErr(t, err, errdefs.ErrFailedPrecondition, "expired at 2022-01-01T00:00:00Z", "clock")

	a.sign(t, testRelease+"Valid-Until: Sat, 01 Jan 2122 00:00:00 UTC\n", archiveKey(t))
	if _, err := a.serve(t).Resolve(context.Background(), cloudPkg); err != nil {
		t.Fatalf("Resolve before Valid-Until: %v", err)
	}
}

func TestResolveWithoutKeyring(t *testing.T) {
	src := newArchive(t, []byte("deb"), ".xz", xzBytes).serve(t)
	src.Keyring = filepath.Join(t.TempDir(), "missing.gpg")
	err := resolveErr(t, src)
	wantErr(t, err, errdefs.ErrFailedPrecondition, src.Keyring, "apt-get install debian-archive-keyring", "debian_keyring")
}

func TestResolveWithoutRelease(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".xz", xzBytes)
	delete(a, distsDir+"InRelease")
	src := a.serve(t)
	err := resolveErr(t, src)
	wantErr(t, err, errdefs.ErrNotFound, src.Mirror+"/"+distsDir+"InRelease", "404")
}

func TestResolveReadsArmoredKeyring(t *testing.T) {
	src := newArchive(t, []byte("deb"), ".xz", xzBytes).serve(t)
	var buf bytes.Buffer
	if err := archiveKey(t).Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	armored := filepath.Join(t.TempDir(), "key.asc")
	var asc bytes.Buffer
	w, err := armor.Encode(&asc, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(buf.Bytes())
	w.Close()
	if err := os.WriteFile(armored, asc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src.Keyring = armored
	if _, err := src.Resolve(context.Background(), cloudPkg); err != nil {
		t.Fatalf("Resolve with an armored keyring: %v", err)
	}
}

// Debian signs each release with several keys; a host's keyring may hold
// only some of them, and one of those may have expired. One good
// signature by a valid key of the ring is enough.
func TestVerifyTriesEverySignature(t *testing.T) {
	shortLived, err := openpgp.NewEntity("Expiring Key", "", "", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, KeyLifetimeSecs: 3600})
	if err != nil {
		t.Fatal(err)
	}
	text := "Suite: bookworm\nSHA256:\n " + strings.Repeat("0", 64) + " 1 x\n"
	signed := clearsignWith(t, text, nil, strangerKey(t), shortLived, archiveKey(t))
	keys := append(append(openpgp.EntityList{}, shortLived), archiveKey(t))
	later := time.Now().Add(2 * time.Hour)
	got, err := verifyClearsigned(signed, keys, later)
	if err != nil || strings.TrimSpace(string(got)) != strings.TrimSpace(text) {
		t.Fatalf("verify = %q, %v; want the text", got, err)
	}
	_, err = verifyClearsigned(signed, openpgp.EntityList{shortLived}, later)
	if err == nil || !strings.Contains(signatureHint(err), "clock") {
		t.Fatalf("verify with only an expired key = %v, want an expiry error hinting at the clock", err)
	}
}

func TestVerifyRefusesTextAroundTheMessage(t *testing.T) {
	signed := clearsignWith(t, "Suite: bookworm\n", nil, archiveKey(t))
	keys := openpgp.EntityList{archiveKey(t)}
	if _, err := verifyClearsigned(signed, keys, time.Now()); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for name, data := range map[string][]byte{
		"before": append([]byte("Suite: sid\n"), signed...),
		"after":  append(append([]byte{}, signed...), "Suite: sid\n"...),
	} {
		if _, err := verifyClearsigned(data, keys, time.Now()); err == nil {
			t.Errorf("verify with text %s the message succeeded, want it refused", name)
		}
	}
}

// A real InRelease for bookworm, as apt on this host last fetched it, is
// checked against the host's copy of Debian's archive keyring. Hosts without
// either skip: the project carries no copy of Debian's files.
func TestVerifyDebianRelease(t *testing.T) {
	if _, err := os.Stat(DefaultKeyring); err != nil {
		t.Skipf("%s is missing: apt-get install debian-archive-keyring", DefaultKeyring)
	}
	lists, _ := filepath.Glob("/var/lib/apt/lists/*_dists_bookworm_InRelease")
	if len(lists) == 0 {
		t.Skip("apt has no InRelease for bookworm on this host")
	}
	keys, err := loadKeyring(DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(lists[0])
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(lists[0])
	if err != nil {
		t.Fatal(err)
	}
	when := fi.ModTime() // apt fetched it then, so it was valid then
	text, err := verifyClearsigned(data, keys, when)
	if err != nil {
		t.Fatalf("verifying %s: %v", lists[0], err)
	}
	rel, err := parseRelease(string(text))
	if err != nil {
		t.Fatalf("parseRelease: %v", err)
	}
	if err := rel.check("bookworm", when); err != nil {
		t.Fatalf("check: %v", err)
	}
	if got := rel.files[indexPath+".xz"]; len(got.sha256) != 64 || got.size == 0 {
		t.Fatalf("Packages.xz = %+v, want a size and a SHA256", got)
	}
	if _, err := verifyClearsigned(bytes.Replace(data, []byte("Codename: bookworm"), []byte("Codename: trixie"), 1), keys, when); err == nil {
		t.Fatal("verify accepted Debian's InRelease with its Codename changed")
	}
}

// FuzzVerifyClearsigned feeds the signature check what a hostile mirror
// could serve as InRelease: it must refuse, never panic, and never accept
// a text the archive key did not sign.
func FuzzVerifyClearsigned(f *testing.F) {
	keys, err := testKeys()
	if err != nil {
		f.Fatal(err)
	}
	good := "Suite: oldstable\nCodename: bookworm\nSHA256:\n " + strings.Repeat("a", 64) + " 1 main/binary-amd64/Packages.xz\n"
	var signed bytes.Buffer
	w, err := clearsign.Encode(&signed, keys[0].PrivateKey, nil)
	if err != nil {
		f.Fatal(err)
	}
	w.Write([]byte(good))
	w.Close()
	f.Add(signed.Bytes())
	f.Add(bytes.Replace(signed.Bytes(), []byte("bookworm"), []byte("bullseye"), 1))
	f.Add([]byte(good))
	ring := openpgp.EntityList{keys[0]}
	f.Fuzz(func(t *testing.T, data []byte) {
		text, err := verifyClearsigned(data, ring, time.Now())
		if err != nil {
			return
		}
		if strings.TrimSpace(string(text)) != strings.TrimSpace(good) {
			t.Fatalf("accepted a text the key did not sign:\n%s", text)
		}
		parseRelease(string(text))
	})
}

func TestResolveRefusesOverlongIndex(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".gz", gzipBytes)
	gz := distsDir + indexPath + ".gz"
	a[gz] = append(append([]byte{}, a[gz]...), make([]byte, 1<<20)...)
	err := resolveErr(t, a.serve(t))
	wantErr(t, err, errdefs.ErrUnavailable, "does not match the signed release")
}
