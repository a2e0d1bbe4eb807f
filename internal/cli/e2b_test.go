package cli

import "testing"

// The variables name an address a client on this machine can dial: a
// daemon listening on every interface is reached over loopback.
func TestClientAddr(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:3333": "127.0.0.1:3333",
		"0.0.0.0:3334":   "127.0.0.1:3334",
		":3335":          "127.0.0.1:3335",
		"[::]:3336":      "[::1]:3336",
		"10.0.0.5:3337":  "10.0.0.5:3337",
	} {
		if got := clientAddr(listen); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", listen, got, want)
		}
	}
}
