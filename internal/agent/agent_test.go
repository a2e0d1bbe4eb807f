package agent

import (
	"bytes"
	"strings"
	"testing"

	"banger/internal/version"
)

func TestRunFlags(t *testing.T) {
	var out, errs bytes.Buffer
	if err := Run(testCtx(t), []string{"-version"}, &out, &errs); err != nil || strings.TrimSpace(out.String()) != version.Version {
		t.Errorf("-version printed %q, %v; want %q", out.String(), err, version.Version)
	}
	if err := Run(testCtx(t), []string{"serve"}, &out, &errs); err == nil || !strings.Contains(err.Error(), "only flags") {
		t.Errorf("Run with an argument = %v; want a usage error", err)
	}
	errs.Reset()
	err := Run(testCtx(t), []string{"-serial", "", "-vsock-port", "0"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "no channel to the host") {
		t.Errorf("Run with every channel off = %v; want it to fail for want of a channel", err)
	}
	if !strings.Contains(errs.String(), "starting") {
		t.Errorf("log = %q; want the agent to log its start to stderr", errs.String())
	}
}
