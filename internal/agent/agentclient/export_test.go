package agentclient

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
