package vm

import (
	"context"
	"errors"
	"log/slog"

	"banger/internal/progress"
)

// A step is one named piece of a lifecycle operation (create, boot, warm
// start, restore, snapshot): what it does and how that is undone. An
// operation is a list of steps; running it runs them in order, and when
// one fails, undoes the ones before it in reverse and returns an error
// that names it.
type step struct {
	name string
	// say, when set, is the progress line shown as the step begins; a
	// func, because some lines tell what an earlier step found.
	say  func() string
	do   func(ctx context.Context) error
	undo func(ctx context.Context) // nil: nothing to undo
}

// says is a progress line that is known up front.
func says(line string) func() string { return func() string { return line } }

// stepError is a step's failure: the step's name, then the cause.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// errKeep marks a failure after which the steps done stay in place:
// nothing is undone (a guest that runs but never got ready is kept to be
// looked at). See keepDone.
var errKeep = errors.New("the steps done are kept")

type keptError struct{ err error }

func (e keptError) Error() string   { return e.err.Error() }
func (e keptError) Unwrap() []error { return []error{e.err, errKeep} }

// keepDone marks err, returned by a step, as ending the operation with
// the steps done kept.
func keepDone(err error) error { return keptError{err} }

// runSteps runs steps in order, saying each on prog. When one fails, the
// ones done are undone in reverse, unless its error is marked with
// keepDone, and the error names the step; an error that already names one
// (a failure inside a nested run) is passed on as it is.
func runSteps(ctx context.Context, log *slog.Logger, prog progress.Func, steps []step) error {
	for i, s := range steps {
		if s.say != nil {
			prog.Step(s.say())
		}
		err := s.do(ctx)
		if err == nil {
			continue
		}
		if !errors.Is(err, errKeep) {
			undoSteps(ctx, log, steps[:i])
		}
		var named *stepError
		if errors.As(err, &named) {
			return err
		}
		return &stepError{step: s.name, err: err}
	}
	return nil
}

// undoSteps undoes done, last first, whether or not ctx has ended.
func undoSteps(ctx context.Context, log *slog.Logger, done []step) {
	ctx = context.WithoutCancel(ctx)
	for i := len(done) - 1; i >= 0; i-- {
		if done[i].undo != nil {
			log.Debug("undoing a step", "step", done[i].name)
			done[i].undo(ctx)
		}
	}
}

// either is one step that runs first and, when first fails with an error
// fall accepts (its steps undone), second instead: a warm start that
// falls back to a cold boot. Its undo undoes whichever list ran.
func either(name string, log *slog.Logger, prog progress.Func, first, second []step, fall func(context.Context, error) bool) step {
	var ran []step
	return step{
		name: name,
		do: func(ctx context.Context) error {
			err := runSteps(ctx, log, prog, first)
			if err == nil {
				ran = first
				return nil
			}
			if !fall(ctx, err) {
				return err
			}
			if err := runSteps(ctx, log, prog, second); err != nil {
				return err
			}
			ran = second
			return nil
		},
		undo: func(ctx context.Context) { undoSteps(ctx, log, ran) },
	}
}

// failedAt reports whether err is the failure of the step called name.
func failedAt(err error, name string) bool {
	var named *stepError
	return errors.As(err, &named) && named.step == name
}
