package agentclient

import "time"

// SetHelloAttempt shortens the wait for one hello's answer; the returned
// func puts it back.
func SetHelloAttempt(d time.Duration) func() {
	old := helloAttempt
	helloAttempt = d
	return func() { helloAttempt = old }
}

// QueuedBytes is the output ch holds that nobody has read yet.
func QueuedBytes(ch *Channel) int64 {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	var n int64
	for _, ev := range ch.events {
		n += int64(len(ev.Stdout) + len(ev.Stderr))
	}
	return n
}
