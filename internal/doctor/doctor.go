// Package doctor runs the named host checks behind `banger doctor`: KVM and
// which kind it is, the VMMs, the image tools, privileges, free disk, the
// daemon, the VM defaults and whether .vm names resolve. Checks run in
// parallel; each reports what it found and, when something is wrong, a
// one-line fix. A check fails only for what keeps banger from working;
// what merely slows it down (QEMU without KVM) is a warning.
package doctor

import (
	"context"
	"fmt"
	"strings"
)

// Status is the outcome of one check.
type Status int

const (
	Pass Status = iota
	Warn
	Fail
)

// String returns the label printed in the first column: "ok", "warn" or "FAIL".
func (s Status) String() string {
	switch s {
	case Pass:
		return "ok"
	case Warn:
		return "warn"
	case Fail:
		return "FAIL"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText makes a Status a JSON string: "ok", "warn" or "fail".
func (s Status) MarshalText() ([]byte, error) {
	if s < Pass || s > Fail {
		return nil, fmt.Errorf("invalid doctor status %d", int(s))
	}
	return []byte(strings.ToLower(s.String())), nil
}

// UnmarshalText parses what MarshalText produces (any case).
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{Pass, Warn, Fail} {
		if strings.EqualFold(string(b), v.String()) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("invalid doctor status %q", b)
}

// Result is what one check found.
type Result struct {
	Name    string   `json:"name"`
	Status  Status   `json:"status"`
	Summary string   `json:"summary"`
	Fix     string   `json:"fix,omitempty"`
	Details []string `json:"details,omitempty"`
}

// Check is one named probe. Run should honour ctx, but Run copes with a
// check that does not.
type Check struct {
	Name string
	Run  func(ctx context.Context) Result
}

// Failed reports whether any result is a Fail.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}
