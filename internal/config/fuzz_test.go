package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"vmm = \"qemu\"\n",
		"default_image_name = \"x\"\nweb_listen_addr = \"127.0.0.1:7777\"\nbridge_name = \"br0\"\nbridge_subnet = \"10.0.0.0/16\"\n",
		"[vm_defaults]\nvcpu = 4\nmemory_mib = 4096\ndisk_size = \"16G\"\n",
		"[vm_defaults]\nvpcu = \"four\"\ndisk_size = \"16Q\"\n",
		"[[file_sync]]\nhost = \"~/.aws\"\nguest = \"~/.aws\"\n[[file_sync]]\nhost = \"/x\"\nguest = \"/root/x\"\nmode = \"0755\"\n",
		"file_sync = [{host = \"~/a\", guest = \"~/../a\"}, [1]]\n",
		"[[file_sync]]\n[file_sync.a]\n[[file_sync.a.b]]\nc = [[], {d = 1}]\n",
		"a.b.c = 1\n\"q\\u0000\" = 2\n[x]\n",
		"vmm = \"qemu\"\nvmm = \"auto\"\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			checkFuzzErrors(t, err)
			return
		}
		var b strings.Builder
		if err := c.Encode(&b); err != nil {
			t.Fatalf("Encode of an accepted config: %v", err)
		}
		back, err := Parse("encoded.toml", []byte(b.String()))
		if err != nil {
			t.Fatalf("Parse of encoded config: %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip changed the config:\n%+v\nwant\n%+v", back, c)
		}
	})
}

// checkFuzzErrors checks that every problem is an *Error that names the
// file and a line.
func checkFuzzErrors(t *testing.T, err error) {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not joined: %v", err, err)
	}
	for _, e := range joined.Unwrap() {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Fatalf("problem %T is not an *Error: %v", e, e)
		}
		if pe.File != "fuzz.toml" || pe.Line < 1 || pe.Msg == "" {
			t.Fatalf("problem lacks a file, line or message: %#v", pe)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, seed := range []string{"0", "8G", "512M", "16GiB", "16 gb", "1.5G", "1.1K", "-1", "16Q", "9223372036854775807", "8E", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		size, err := ParseSize(s)
		if err != nil {
			return
		}
		if size < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, size)
		}
		back, err := ParseSize(size.String())
		if err != nil || back != size {
			t.Fatalf("ParseSize(%q) = %d; its String %q parses to %d, %v", s, size, size.String(), back, err)
		}
	})
}
