package client

import (
	"errors"
	"testing"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

func TestCopyStatusKeepsTheKindAndTheReason(t *testing.T) {
	if err := copyStatus("box", 0, ""); err != nil {
		t.Errorf("status 0: %v", err)
	}
	cases := []struct {
		code int
		kind error
	}{
		{agentproto.CopyNotFound, errdefs.ErrNotFound},
		{agentproto.CopyInvalid, errdefs.ErrInvalidArgument},
		{agentproto.CopyNoSpace, errdefs.ErrFailedPrecondition},
	}
	for _, c := range cases {
		err := copyStatus("box", c.code, "the disk in the guest is full\n")
		if !errors.Is(err, c.kind) || err.Error() != "in VM box: the disk in the guest is full" {
			t.Errorf("status %d: %v; want %v with the reason", c.code, err, c.kind)
		}
	}
	if err := copyStatus("box", 9, ""); err == nil || err.Error() != "in VM box: the guest agent ended the copy with status 9" {
		t.Errorf("an unknown status without a reason: %v", err)
	}
}
