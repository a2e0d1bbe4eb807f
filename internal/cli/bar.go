package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"banger/internal/progress"
)

const (
	// barEvery is how often a bar is redrawn at most.
	barEvery = 100 * time.Millisecond
	// barWidth is the width of a bar's gauge, in cells.
	barWidth = 24
)

// byteBar draws a transfer of bytes on one terminal line, redrawn in
// place, in under 80 columns:
//
//	copying  42% [==========              ] 84.0 MiB/200.0 MiB 12.0 MiB/s 10s left
//
// Without a total it draws the bytes so far and the rate.
type byteBar struct {
	w            io.Writer
	label        string
	total        int64 // 0 or less: unknown
	done         int64
	start, drawn time.Time
	now          func() time.Time
}

func newByteBar(w io.Writer, label string, total int64) *byteBar {
	return &byteBar{w: w, label: label, total: total, start: time.Now(), now: time.Now}
}

// set records done bytes, and redraws the bar when its drawing is
// barEvery old or the transfer is complete.
func (b *byteBar) set(done int64) {
	b.done = done
	now := b.now()
	if now.Sub(b.drawn) < barEvery && (b.total <= 0 || done < b.total) {
		return
	}
	b.drawn = now
	_, _ = io.WriteString(b.w, "\r\033[K"+b.line(now.Sub(b.start)))
}

// finish draws the bar as it ends; the caller ends the line.
func (b *byteBar) finish() {
	_, _ = io.WriteString(b.w, "\r\033[K"+b.line(b.now().Sub(b.start)))
}

// line is the bar after elapsed.
func (b *byteBar) line(elapsed time.Duration) string {
	var s strings.Builder
	if b.label != "" {
		s.WriteString(b.label + " ")
	}
	if b.total > 0 {
		frac := min(float64(b.done)/float64(b.total), 1)
		filled := int(frac * barWidth)
		fmt.Fprintf(&s, "%3d%% [%s%s] %s/%s", int(frac*100), strings.Repeat("=", filled), strings.Repeat(" ", barWidth-filled),
			progress.Bytes(b.done), progress.Bytes(b.total))
	} else {
		s.WriteString(progress.Bytes(b.done))
	}
	if elapsed <= 0 || b.done <= 0 {
		return s.String()
	}
	fmt.Fprintf(&s, " %s/s", progress.Bytes(int64(float64(b.done)/elapsed.Seconds())))
	if b.total > b.done {
		left := time.Duration(float64(elapsed) * float64(b.total-b.done) / float64(b.done))
		fmt.Fprintf(&s, " %s left", left.Round(time.Second))
	}
	return s.String()
}
