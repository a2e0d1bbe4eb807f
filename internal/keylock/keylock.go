// Package keylock serialises work per key: two pulls of one image build it
// once (the second waits, then finds it present), and one lifecycle
// operation runs per VM at a time.
package keylock

import "sync"

// Map holds one mutex per key, made on first use. Its zero value is ready.
type Map struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// Lock takes key's mutex and returns the function that releases it.
func (k *Map) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*sync.Mutex{}
	}
	m, ok := k.locks[key]
	if !ok {
		m = &sync.Mutex{}
		k.locks[key] = m
	}
	k.mu.Unlock()
	m.Lock()
	return m.Unlock
}
