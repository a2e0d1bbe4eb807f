package guestinit

import (
	"fmt"
	"io"
	"os"
)

// logger writes banger-init's messages to the kernel log, so they appear in
// dmesg and, subject to the console log level, on the console. Until
// /dev/kmsg can be opened it writes to the console directly.
type logger struct {
	kmsg    io.Writer // nil until /dev is mounted
	console io.Writer
}

const prefix = "banger-init: "

func newLogger() *logger {
	return &logger{console: os.Stderr}
}

// openKmsg switches progress messages to the kernel log.
func (l *logger) openKmsg() {
	if f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
		l.kmsg = f
	}
}

// Infof logs progress at KERN_NOTICE, which "quiet" hides on the console.
func (l *logger) Infof(format string, args ...any) {
	l.logf("<5>", format, args...)
}

// Errorf logs a failure at KERN_ERR, which the console shows unless the
// log level is set below it.
func (l *logger) Errorf(format string, args ...any) {
	l.logf("<3>", format, args...)
}

// logf writes one message in one write call, as /dev/kmsg takes one record
// per write.
func (l *logger) logf(level, format string, args ...any) {
	msg := prefix + fmt.Sprintf(format, args...) + "\n"
	if l.kmsg != nil {
		if _, err := io.WriteString(l.kmsg, level+msg); err == nil {
			return
		}
	}
	io.WriteString(l.console, msg)
}
