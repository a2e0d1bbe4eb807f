package agentproto

import (
	"context"
	"math"
	"testing"
)

func TestCreditSaturatesOnHugeGrants(t *testing.T) {
	c := NewCredit()
	c.Add(math.MaxInt64)
	c.Add(math.MaxInt64) // would wrap negative and stall every Take
	n, err := c.Take(context.Background(), MaxChunk)
	if err != nil || n != MaxChunk {
		t.Fatalf("Take after two huge grants = %d, %v; want %d", n, err, MaxChunk)
	}
}
