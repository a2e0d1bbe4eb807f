package cli

import (
	"strings"
	"testing"
	"time"
)

func TestParseTTL(t *testing.T) {
	good := map[string]time.Duration{"30s": 30 * time.Second, "1h30m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "1d": 24 * time.Hour}
	for s, want := range good {
		if got, err := parseTTL(s); err != nil || got != want {
			t.Errorf("parseTTL(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "0s", "-1h", "1.5d", "d", "7", "never", "99999d"} {
		if _, err := parseTTL(s); err == nil || !strings.Contains(err.Error(), "want a positive number with a unit") {
			t.Errorf("parseTTL(%q) = %v, want refused", s, err)
		}
	}
}

func TestUntil(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[time.Duration]string{
		-time.Second: "due", 0: "due", 10 * time.Second: "in 10s", 200 * time.Millisecond: "in 1s", 5 * time.Minute: "in 5m",
		3 * time.Hour: "in 3h", 72 * time.Hour: "in 3d",
	}
	for d, want := range cases {
		if got := until(now, now.Add(d)); got != want {
			t.Errorf("until(+%v) = %q, want %q", d, got, want)
		}
	}
	if got := until(now, time.Time{}); got != "-" {
		t.Errorf("until(never) = %q, want -", got)
	}
}
