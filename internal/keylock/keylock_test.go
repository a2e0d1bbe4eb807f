package keylock

import (
	"sync"
	"testing"
)

func TestLockSerialisesOneKeyOnly(t *testing.T) {
	var k Map
	unlockA := k.Lock("a")
	// Another key is free while "a" is held.
	k.Lock("b")()

	got := make(chan struct{})
	go func() {
		defer k.Lock("a")()
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a second Lock of a held key returned")
	default:
	}
	unlockA()
	<-got
}

func TestLockCountsUnderContention(t *testing.T) {
	var k Map
	var wg sync.WaitGroup
	n := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer k.Lock("x")()
			n++
		}()
	}
	wg.Wait()
	if n != 50 {
		t.Fatalf("n = %d, want 50: the lock let two holders in", n)
	}
}
