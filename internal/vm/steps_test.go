package vm

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// trail records what steps did and undid, in order.
type trail struct{ got []string }

func (tr *trail) step(name string, err error) step {
	return step{
		name: name,
		say:  says(name),
		do: func(context.Context) error {
			tr.got = append(tr.got, "do "+name)
			return err
		},
		undo: func(ctx context.Context) {
			if ctx.Err() != nil {
				tr.got = append(tr.got, "undo "+name+" with an ended context")
				return
			}
			tr.got = append(tr.got, "undo "+name)
		},
	}
}

func (tr *trail) prog() progress.Func {
	return func(ev progress.Event) {
		if ev.Step != "" {
			tr.got = append(tr.got, "say "+ev.Step)
		}
	}
}

var discard = slog.New(slog.DiscardHandler)

func TestStepsRunInOrder(t *testing.T) {
	tr := &trail{}
	err := runSteps(context.Background(), discard, tr.prog(), []step{tr.step("a", nil), tr.step("b", nil)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"say a", "do a", "say b", "do b"}
	if !slices.Equal(tr.got, want) {
		t.Errorf("ran %q, want %q", tr.got, want)
	}
}

// A failure undoes the steps done, last first, even when the caller's
// context has ended, and the error names the step and keeps its cause.
func TestFailedStepUndoesTheOnesBefore(t *testing.T) {
	tr := &trail{}
	ctx, cancel := context.WithCancel(context.Background())
	cause := errdefs.Unavailable("the tap is busy: try again")
	failing := tr.step("c", cause)
	failing.do = func(context.Context) error {
		cancel()
		tr.got = append(tr.got, "do c")
		return cause
	}
	err := runSteps(ctx, discard, tr.prog(), []step{tr.step("a", nil), tr.step("b", nil), failing, tr.step("d", nil)})
	want := []string{"say a", "do a", "say b", "do b", "say c", "do c", "undo b", "undo a"}
	if !slices.Equal(tr.got, want) {
		t.Errorf("ran %q, want %q", tr.got, want)
	}
	if err == nil || err.Error() != "c: the tap is busy: try again" {
		t.Errorf("error %v, want it to name step c, then the cause", err)
	}
	if !errors.Is(err, cause) || errdefs.KindOf(err) != errdefs.KindUnavailable {
		t.Errorf("error %v lost its cause or kind (%v)", err, errdefs.KindOf(err))
	}
}

// A failure marked with keepDone leaves the steps done in place.
func TestKeptFailureUndoesNothing(t *testing.T) {
	tr := &trail{}
	cause := errors.New("guest not ready")
	err := runSteps(context.Background(), discard, nil, []step{tr.step("a", nil), tr.step("b", keepDone(cause))})
	if want := []string{"do a", "do b"}; !slices.Equal(tr.got, want) {
		t.Errorf("ran %q, want %q", tr.got, want)
	}
	if !errors.Is(err, cause) || err.Error() != "b: guest not ready" {
		t.Errorf("error %v, want step b's cause", err)
	}
}

// either runs its second list when the first fails in a way it accepts,
// after undoing the first; the error of a nested step names that step.
func TestEitherFallsBack(t *testing.T) {
	tr := &trail{}
	first := []step{tr.step("warm", nil), tr.step("restore", errors.New("bad state"))}
	second := []step{tr.step("cold", nil)}
	fell := 0
	fall := func(_ context.Context, err error) bool { fell++; return failedAt(err, "restore") }
	steps := []step{tr.step("record", nil), either("start", discard, nil, first, second, fall)}
	if err := runSteps(context.Background(), discard, nil, steps); err != nil {
		t.Fatal(err)
	}
	want := []string{"do record", "do warm", "do restore", "undo warm", "do cold"}
	if !slices.Equal(tr.got, want) || fell != 1 {
		t.Errorf("ran %q (fell back %d times), want %q", tr.got, fell, want)
	}

	// A failure it does not accept, or one of the second list, undoes
	// everything, and names the step that failed.
	tr.got = nil
	second = []step{tr.step("cold", nil), tr.step("boot", errors.New("no kvm"))}
	steps = []step{tr.step("record", nil), either("start", discard, nil, first, second, fall)}
	err := runSteps(context.Background(), discard, nil, steps)
	if err == nil || err.Error() != "boot: no kvm" {
		t.Errorf("error %v, want step boot's", err)
	}
	want = []string{"do record", "do warm", "do restore", "undo warm", "do cold", "do boot", "undo cold", "undo record"}
	if !slices.Equal(tr.got, want) {
		t.Errorf("ran %q, want %q", tr.got, want)
	}
}
