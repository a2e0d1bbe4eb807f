package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fuzz input is a list of 6-byte ops: kind, three name components, a
// link target or whiteout name, and a mode byte: its low six bits are the
// group and other bits, 0x40 takes away the owner's write bit and 0x80
// adds setuid, setgid and sticky.
const fuzzOpLen = 6

// Op kinds; the kind byte's high bits add a leading "/" (0x10) or a
// trailing "/" (0x20) to the name.
const (
	opDir = iota
	opFile
	opSymlink
	opHardlink
	opWhiteout
	opOpaque
	opFifo
	opChar
	opXattrFile
	opNextLayer
	opKinds
)

// fuzzComps are the name components; 0 ends a name.
var fuzzComps = []string{"", "a", "b", "x", "..", ".", "victim", "tree", "secret", "sub"}

// Component indexes, for seeds.
const (
	cEnd byte = iota
	cA
	cB
	cX
	cDotDot
	cDot
	cVictim
	cTree
	cSecret
	cSub
)

// fuzzTargets are link targets, many pointing out of the tree.
func fuzzTargets(s sandbox) []string {
	return []string{s.victim, filepath.Join(s.victim, "secret"), filepath.Join(s.victim, "sub"), filepath.Dir(s.victim),
		"..", "../victim", "../../victim", "../victim/secret", "/", ".", "a", "a/b", "/a", "b/../..",
		"../../../../../.." + s.victim, "secret", "x/victim"}
}

// Target indexes, for seeds.
const (
	tVictim byte = iota
	tSecret
	tSub
	tVictimParent
	tDotDot
	tUpVictim
)

func op(kind, p0, p1, p2, target, mode byte) []byte { return []byte{kind, p0, p1, p2, target, mode} }

func seed(ops ...[]byte) []byte { return bytes.Join(ops, nil) }

// fuzzName builds an entry name from the op.
func fuzzName(o []byte) string {
	var parts []string
	for _, c := range o[1:4] {
		c %= byte(len(fuzzComps))
		if c == 0 {
			break
		}
		parts = append(parts, fuzzComps[c])
	}
	name := strings.Join(parts, "/")
	if o[0]&0x10 != 0 {
		name = "/" + name
	}
	if o[0]&0x20 != 0 {
		name += "/"
	}
	return name
}

func fuzzMode(m byte) int64 {
	mode := 0o700 | int64(m&0o77)
	if m&0x40 != 0 {
		mode &^= 0o200
	}
	if m&0x80 != 0 {
		mode |= 0o7000
	}
	return mode
}

// fuzzLayers decodes data into layers, every other one gzipped.
func fuzzLayers(t *testing.T, s sandbox, data []byte) [][]byte {
	targets := fuzzTargets(s)
	var layers [][]byte
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	flush := func() {
		tw.Close()
		l := bytes.Clone(buf.Bytes())
		if len(layers)%2 == 1 {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(l)
			zw.Close()
			l = z.Bytes()
		}
		layers = append(layers, l)
		buf.Reset()
		tw = tar.NewWriter(&buf)
	}
	for len(data) >= fuzzOpLen {
		o := data[:fuzzOpLen]
		data = data[fuzzOpLen:]
		kind, m := (o[0]&0x0f)%opKinds, o[5]
		hdr := &tar.Header{Name: fuzzName(o), Mode: fuzzMode(m), ModTime: time.Unix(1700000000, 0),
			Linkname: targets[int(o[4])%len(targets)], Format: tar.FormatPAX}
		var body string
		switch kind {
		case opDir:
			hdr.Typeflag = tar.TypeDir
		case opFile, opXattrFile:
			hdr.Typeflag = tar.TypeReg
			body = strings.Repeat("x", int(m))
			if kind == opXattrFile {
				hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.fuzz": "1"}
			}
		case opSymlink:
			hdr.Typeflag = tar.TypeSymlink
		case opHardlink:
			hdr.Typeflag = tar.TypeLink
		case opWhiteout:
			hdr.Typeflag = tar.TypeReg
			hdr.Name = strings.TrimSuffix(hdr.Name, "/") + "/.wh." + fuzzComps[int(o[4])%len(fuzzComps)]
		case opOpaque:
			hdr.Typeflag = tar.TypeReg
			hdr.Name = strings.TrimSuffix(hdr.Name, "/") + "/" + opaqueWhiteout
		case opFifo:
			hdr.Typeflag = tar.TypeFifo
		case opChar:
			hdr.Typeflag, hdr.Devmajor, hdr.Devminor = tar.TypeChar, 1, 3 // /dev/null
		case opNextLayer:
			flush()
			continue
		}
		if hdr.Typeflag != tar.TypeSymlink && hdr.Typeflag != tar.TypeLink {
			hdr.Linkname = ""
		}
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(hdr); err != nil {
			continue // a name tar cannot hold
		}
		tw.Write([]byte(body))
	}
	flush()
	return layers
}

// FuzzFlatten flattens arbitrary layers of links, whiteouts, opaque
// directories and modes into a tree beside a victim directory, and checks
// that nothing outside the tree changed. Errors are fine; panics and
// escapes are not.
func FuzzFlatten(f *testing.F) {
	next := op(opNextLayer, 0, 0, 0, 0, 0)
	for _, s := range [][]byte{
		// A recorded directory replaced by a link out of the tree.
		seed(op(opDir, cX, 0, 0, 0, 0o55), op(opDir, cX, cVictim, 0, 0, 0o77), op(opDir, cX, cVictim, cSub, 0, 0o77),
			next, op(opSymlink, cX, 0, 0, tVictimParent, 0)),
		seed(op(opDir, cX, 0, 0, 0, 0o55), op(opDir, cX, cVictim, 0, 0, 0o77), op(opSymlink, cX, 0, 0, tDotDot, 0)),
		seed(op(opDir, cA, 0, 0, 0, 0o77), op(opSymlink, cA, 0, 0, tVictim, 0)),
		// Whiteouts of a directory itself or of its parent.
		seed(op(opWhiteout|0x10, cDot, 0, 0, cDotDot, 0)),
		seed(op(opDir, cA, cB, 0, 0, 0o55), op(opWhiteout, cA, cB, 0, cDotDot, 0), op(opWhiteout, cA, 0, 0, cDot, 0)),
		seed(op(opWhiteout, cDot, 0, 0, cDot, 0), op(opWhiteout, cDot, 0, 0, cEnd, 0)),
		// Files and links written over links out of the tree.
		seed(op(opSymlink, cSecret, 0, 0, tSecret, 0), next, op(opFile, cSecret, 0, 0, 0, 0o77)),
		seed(op(opSymlink, cSecret, 0, 0, tSecret, 0), op(opHardlink, cA, 0, 0, 15, 0), op(opFile, cA, 0, 0, 0, 0o77)),
		seed(op(opSymlink, cX, 0, 0, tVictim, 0), op(opFile, cX, cSecret, 0, 0, 0o77), op(opDir, cX, cSub, 0, 0, 0o77),
			op(opHardlink, cB, 0, 0, tSecret, 0), op(opChar, cX, cSecret, 0, 0, 0o66)),
		seed(op(opSymlink, cX, 0, 0, tUpVictim, 0), next, op(opWhiteout, cX, 0, 0, cSecret, 0), op(opOpaque, cX, 0, 0, 0, 0),
			op(opXattrFile, cX, cB, 0, 0, 0o44), op(opFifo, cX, cSub, 0, 0, 0o44)),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64*fuzzOpLen {
			data = data[:64*fuzzOpLen]
		}
		s := newSandbox(t)
		defer removeTree(s.root)
		fl, err := newFlattener(s.root, 1<<20, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		defer fl.close()
		for _, l := range fuzzLayers(t, s, data) {
			if err := fl.applyLayer(t.Context(), bytes.NewReader(l)); err != nil {
				break
			}
		}
		fl.finish()
		s.untouched(t)
	})
}
