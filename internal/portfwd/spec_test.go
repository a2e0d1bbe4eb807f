package portfwd

import (
	"strings"
	"testing"
)

func TestParseDockerSyntax(t *testing.T) {
	for in, want := range map[string]Spec{
		"8000":                  {HostAddr: "127.0.0.1", HostPort: 0, GuestPort: 8000, Proto: "tcp"},
		"18080:8000":            {HostAddr: "127.0.0.1", HostPort: 18080, GuestPort: 8000, Proto: "tcp"},
		"0.0.0.0:18080:8000":    {HostAddr: "0.0.0.0", HostPort: 18080, GuestPort: 8000, Proto: "tcp"},
		"53:53/udp":             {HostAddr: "127.0.0.1", HostPort: 53, GuestPort: 53, Proto: "udp"},
		"[::1]:5353:53/udp":     {HostAddr: "::1", HostPort: 5353, GuestPort: 53, Proto: "udp"},
		"127.0.0.2::8000":       {HostAddr: "127.0.0.2", HostPort: 0, GuestPort: 8000, Proto: "tcp"},
		"10.0.0.1:0:22/tcp":     {HostAddr: "10.0.0.1", HostPort: 0, GuestPort: 22, Proto: "tcp"},
		"127.0.0.1:65535:65535": {HostAddr: "127.0.0.1", HostPort: 65535, GuestPort: 65535, Proto: "tcp"},
	} {
		got, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("Parse(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestParseRefusesBadInput(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "not a number",
		"0":                "port 0 cannot be forwarded",
		"8080:0":           "port 0 cannot be forwarded",
		"65536":            "from 1 to 65535",
		"65536:80":         "from 1 to 65535",
		"-1:80":            "from 1 to 65535",
		"http":             "not a number",
		"80/sctp":          `protocol "sctp"`,
		"80/":              `protocol ""`,
		"localhost:80:80":  "not an IP address",
		"300.1.1.1:80:80":  "not an IP address",
		"8080:":            "want [HOSTADDR:]",
		"[::1]80":          "want [HOSTADDR:]",
		"1.2.3.4:80:80:80": "not a number",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) accepted it", in)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want it to say %q", in, err, want)
		}
	}
}

func TestSpecStringParsesBack(t *testing.T) {
	for _, in := range []string{"18080:8000", "[::1]:53:53/udp", "0.0.0.0:1:2"} {
		sp, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(sp.String())
		if err != nil || back != sp {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", sp.String(), back, err, sp)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"8000", "1:2", "[::1]:1:2/udp", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		if err := sp.Check(); err != nil {
			t.Fatalf("Parse(%q) gave %+v, which Check refuses: %v", s, sp, err)
		}
		if back, err := Parse(sp.String()); err != nil || back != sp {
			t.Fatalf("Parse(%q) = %+v; its String %q parses as %+v, %v", s, sp, sp.String(), back, err)
		}
	})
}

func TestParseHost(t *testing.T) {
	for in, want := range map[string]Spec{
		"18080":           {HostPort: 18080},
		"53/udp":          {HostPort: 53, Proto: "udp"},
		"127.0.0.1:18080": {HostAddr: "127.0.0.1", HostPort: 18080},
		"[::1]:80/tcp":    {HostAddr: "::1", HostPort: 80, Proto: "tcp"},
	} {
		if got, err := ParseHost(in); err != nil || got != want {
			t.Errorf("ParseHost(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "65536", "x", "80/sctp", "host:80", "1:2:3"} {
		if _, err := ParseHost(bad); err == nil {
			t.Errorf("ParseHost(%q) accepted it", bad)
		}
	}
}
