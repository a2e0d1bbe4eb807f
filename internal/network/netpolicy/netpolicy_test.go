package netpolicy

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in    string
		want  Policy
		canon string
	}{
		{"", Policy{Mode: Internet}, "internet"},
		{"internet", Policy{Mode: Internet}, "internet"},
		{"none", Policy{Mode: None}, "none"},
		{"open", Policy{Mode: Open}, "open"},
		{"allow=10.1.2.0/24,example.com:443,203.0.113.7:22", Policy{Mode: Allow, Allow: []AllowRule{
			{Prefix: netip.MustParsePrefix("10.1.2.0/24")},
			{Domain: "example.com", Port: 443},
			{Prefix: netip.MustParsePrefix("203.0.113.7/32"), Port: 22},
		}}, "allow=10.1.2.0/24,example.com:443,203.0.113.7:22"},
		{"allow= Example.COM. , 10.0.0.0/8:53", Policy{Mode: Allow, Allow: []AllowRule{
			{Domain: "example.com"},
			{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Port: 53},
		}}, "allow=example.com,10.0.0.0/8:53"},
		{"allow=1.2.3.4/32", Policy{Mode: Allow, Allow: []AllowRule{{Prefix: netip.MustParsePrefix("1.2.3.4/32")}}}, "allow=1.2.3.4"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if s := got.String(); s != tt.canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, tt.canon)
		}
		if back, err := Parse(got.String()); err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", got.String(), back, err, got)
		}
	}
	if d := (Policy{Mode: Allow, Allow: tests[4].want.Allow}).Domains(); len(d) != 1 || d[0].Domain != "example.com" {
		t.Errorf("Domains() = %+v, want example.com only", d)
	}
	if s := (Policy{}).String(); s != "internet" {
		t.Errorf("zero Policy String() = %q, want internet", s)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Internet", "unknown network policy"},
		{"none=x", "unknown network policy"},
		{"allow", "lists no destinations"},
		{"allow=", "no destination"},
		{"allow=a,,b", "no destination"},
		{"allow=10.1.2.3/24", "has host bits set; write 10.1.2.0/24"},
		{"allow=fd00::/8", "not IPv4"},
		{"allow=1.2.3", "not an IPv4 address"},
		{"allow=example.com:0", "port \"0\" is not a number"},
		{"allow=example.com:65536", "is not a number from 1 to 65535"},
		{"allow=example.com:+5", "is not a number"},
		{"allow=example.com:", "is not a number"},
		{"allow=*.example.com", "no wildcards"},
		{"allow=-a.com", "is not a domain name"},
		{"allow=a..com", "is not a domain name"},
		{"allow=a_b.com", "is not a domain name"},
		{"allow=" + strings.Repeat("a,", MaxAllowRules) + "a", "at most 64"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Parse(%q) = %v, want invalid_argument containing %q", tt.in, err, tt.want)
		}
		if err != nil && !strings.Contains(tt.want, "at most") && !strings.Contains(err.Error(), `"allow=LIST"`) {
			t.Errorf("Parse(%q) error %q does not say the accepted forms", tt.in, err)
		}
	}
}

func TestPolicyJSON(t *testing.T) {
	p, _ := Parse("allow=example.com:443")
	b, err := json.Marshal(p)
	if err != nil || string(b) != `"allow=example.com:443"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("Unmarshal = %+v, %v; want %+v", back, err, p)
	}
	if err := json.Unmarshal([]byte(`"allow=*"`), &back); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Unmarshal of a bad policy = %v, want invalid_argument", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"internet", "none", "open", "allow=10.1.2.0/24,example.com:443,203.0.113.7:22", "allow=a.b:1", "allow=1.2.3.4/32:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Parse(in)
		if err != nil {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Parse(%q) = %v, want invalid_argument", in, err)
			}
			return
		}
		back, err := Parse(p.String())
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("Parse(%q) = %+v, %v; want %+v (from %q)", p.String(), back, err, p, in)
		}
		if err := p.Check(); err != nil {
			t.Fatalf("parsed policy %+v fails check: %v", p, err)
		}
	})
}
