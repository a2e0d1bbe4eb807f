package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
)

func TestStatsTable(t *testing.T) {
	full := api.VMStats{Name: "box",
		VMM: api.VMMStats{PID: 42, CPUPercent: 12.345, RSSBytes: 300 << 20, DiskBytes: 2 << 30},
		Guest: &api.GuestStats{MemTotalBytes: 1 << 30, MemUsedBytes: 256 << 20, Load: [3]float64{0.25, 0.5, 1},
			UptimeSeconds: 3725, Filesystems: []api.FSStats{
				{Path: "/", UsedBytes: 1 << 30, TotalBytes: 4 << 30},
				{Path: "/root", UsedBytes: 10 << 20, TotalBytes: 8 << 30},
			}}}
	old := api.VMStats{Name: "old", VMM: api.VMMStats{CPUPercent: 0.5, RSSBytes: 100 << 20, DiskBytes: 1 << 20},
		GuestError: "the guest agent predates vm stats\x1b]0;pwned\x07"}
	var out, errb bytes.Buffer
	if err := printStats(VMStatsOptions{Stdout: &out, Stderr: &errb}, []api.VMStats{full, old}, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("table =\n%s\nwant a header and two rows", out.String())
	}
	wantBox := []string{"box", "12.3%", "300.0 MiB", "256.0 MiB / 1.0 GiB", "25.0%", "0.25 0.50 1.00", "1.0 GiB / 4.0 GiB", "10.0 MiB / 8.0 GiB", "2.0 GiB", "1h2m"}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != strings.Join(strings.Fields(strings.Join(wantBox, " ")), " ") {
		t.Errorf("box's row = %q\nwant %q", got, strings.Join(wantBox, " "))
	}
	if got := strings.Fields(lines[2]); len(got) < 4 || got[1] != "0.5%" || strings.Count(lines[2], " - ") < 4 {
		t.Errorf("old agent's row = %q; want its host figures and - for the guest's", lines[2])
	}
	if note := errb.String(); !strings.Contains(note, "old: no guest figures: the guest agent predates vm stats") || strings.ContainsAny(note, "\x1b\x07") {
		t.Errorf("note = %q; want why, with the guest's escape sequence made harmless", note)
	}
}

func TestStatsJSONKeepsNullGuest(t *testing.T) {
	var out bytes.Buffer
	err := printStats(VMStatsOptions{JSON: true, Stdout: &out}, []api.VMStats{{Name: "old", GuestError: "too old"}}, false)
	if err != nil || !strings.Contains(out.String(), `"guest": null`) || !strings.Contains(out.String(), `"guest_error": "too old"`) {
		t.Errorf("JSON = %s, %v; want a null guest and its reason", out.String(), err)
	}
}

// Streaming redraws the screen, and puts why a guest gave no figures
// under the table rather than on stderr; Ctrl-C (ctx ending) ends it
// without an error.
func TestStatsStreamDrawsUntilCtrlC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	opts := VMStatsOptions{Stream: true, Interval: time.Hour, Stdout: &out, Stderr: &errb}
	if err := streamStats(ctx, nil, opts, []api.VMStats{{Name: "old", GuestError: "too old"}}); err != nil {
		t.Fatalf("streamStats after Ctrl-C = %v; want nil", err)
	}
	if s := out.String(); !strings.HasPrefix(s, "\x1b[H\x1b[2J") || !strings.Contains(s, "NAME") || !strings.Contains(s, "old: no guest figures: too old") || errb.Len() != 0 {
		t.Errorf("stream output = %q, stderr %q; want a cleared screen, the table and the note under it", s, errb.String())
	}
}

func TestUptime(t *testing.T) {
	for secs, want := range map[float64]string{0: "-", 45.9: "45s", 200: "3m20s", 7500: "2h5m", 4*86400 + 3*3600: "4d3h", 1e300: "-"} {
		if got := uptime(secs); got != want {
			t.Errorf("uptime(%v) = %q; want %q", secs, got, want)
		}
	}
}
