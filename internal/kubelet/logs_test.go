package kubelet

import (
	"io"
	"strings"
	"testing"

	vkapi "github.com/virtual-kubelet/virtual-kubelet/node/api"
)

func TestLogRequestsCutTheOutput(t *testing.T) {
	out := "one\ntwo\nthree\n"
	for _, c := range []struct {
		opts vkapi.ContainerLogOpts
		want string
	}{
		{vkapi.ContainerLogOpts{}, out},
		{vkapi.ContainerLogOpts{Tail: 2}, "two\nthree\n"},
		{vkapi.ContainerLogOpts{Tail: 10}, out},
		{vkapi.ContainerLogOpts{LimitBytes: 5}, "one\nt"},
		{vkapi.ContainerLogOpts{Tail: 1, LimitBytes: 3}, "thr"},
	} {
		r, err := cut(io.NopCloser(strings.NewReader(out)), c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(r); string(b) != c.want {
			t.Errorf("cut(%+v) = %q, want %q", c.opts, b, c.want)
		}
	}
}

func TestLimitWriterStopsACopy(t *testing.T) {
	var b strings.Builder
	_, err := io.Copy(&limitWriter{w: &b, n: 4}, strings.NewReader("abcdefgh"))
	if err != errLimit || b.String() != "abcd" {
		t.Errorf("copied %q with %v, want %q and the limit error", b.String(), err, "abcd")
	}
}

func TestLogOptionsItCannotHonourAreRefused(t *testing.T) {
	for _, o := range []vkapi.ContainerLogOpts{{Previous: true}, {Timestamps: true}, {SinceSeconds: 60}, {Follow: true, Tail: 10}} {
		if err := refuseLogOpts(o); err == nil {
			t.Errorf("log options %+v are not refused", o)
		}
	}
	if err := refuseLogOpts(vkapi.ContainerLogOpts{Follow: true, LimitBytes: 10}); err != nil {
		t.Errorf("follow with a byte limit is refused: %v", err)
	}
}
