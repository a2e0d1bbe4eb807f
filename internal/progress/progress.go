// Package progress carries progress reports from long work (image builds,
// downloads) to whoever shows them: the daemon streams them to the CLI,
// which draws steps and byte counters.
package progress

import "io"

// Event is one progress report. A new Step starts a new phase; Done and
// Total count bytes (or other units) within it, Total 0 when unknown.
type Event struct {
	Step    string `json:"step,omitempty"`
	Message string `json:"message,omitempty"`
	Done    int64  `json:"done,omitempty"`
	Total   int64  `json:"total,omitempty"`
}

// Func receives events. A nil Func drops them.
type Func func(Event)

// Report sends e, doing nothing on a nil Func.
func (f Func) Report(e Event) {
	if f != nil {
		f(e)
	}
}

// Step announces a new phase.
func (f Func) Step(step string) { f.Report(Event{Step: step}) }

// Note sends a one-line message within the current step.
func (f Func) Note(step, msg string) { f.Report(Event{Step: step, Message: msg}) }

// Reader wraps r, reporting bytes read under step.
func (f Func) Reader(r io.Reader, step string, total int64) io.Reader {
	if f == nil {
		return r
	}
	return &reader{r: r, f: f, step: step, total: total}
}

type reader struct {
	r     io.Reader
	f     Func
	step  string
	done  int64
	total int64
	last  int64
}

// reportEvery limits how often a reader reports, in bytes.
const reportEvery = 256 << 10

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.done += int64(n)
	if r.done-r.last >= reportEvery || (err != nil && r.done != r.last) {
		r.last = r.done
		r.f(Event{Step: r.step, Done: r.done, Total: r.total})
	}
	return n, err
}
