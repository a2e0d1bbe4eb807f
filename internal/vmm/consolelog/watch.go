package consolelog

import (
	"context"
	"log/slog"
	"time"
)

// Every is how often Watch looks at a log's size. A guest can write no
// more than this interval's output past the limit.
const Every = 500 * time.Millisecond

// Watch rotates the log at path whenever it passes limit() bytes, until
// ctx ends. It reports a failure to log once, not at every look.
func Watch(ctx context.Context, path string, limit func() int64, log *slog.Logger) {
	t := time.NewTicker(Every)
	defer t.Stop()
	failing := ""
	for {
		_, err := Rotate(path, limit())
		switch {
		case err != nil && err.Error() != failing:
			failing = err.Error()
			log.Warn("rotating the console log", "err", err)
		case err == nil:
			failing = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
