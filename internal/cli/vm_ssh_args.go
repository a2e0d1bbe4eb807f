package cli

import (
	"context"
	"strings"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// OpenSSH's client options, as its getopt string has them: those that
// take a value, and those that do not.
const (
	sshValueOpts = "BbcDEeFIiJLlmOoPpQRSWw"
	sshFlagOpts  = "1246AaCfGgKkMNnqsTtVvXxYy"
)

// sshArgs is what follows `--` in `banger vm ssh NAME -- ...`, split by
// ssh's own rule: options first, then the remote command.
type sshArgs struct {
	Options []string // passed to ssh before banger's own
	Command []string
	flags   string // the value-less option letters given, as "AN"
}

// splitSSHArgs splits args into ssh options and the remote command: the
// command starts at the first word that is not an option, or after a
// second `--`. So `-- uname -a` is a command, as it always was, and
// `-- -L 8080:localhost:80 -N` options only.
func splitSSHArgs(args []string) (sshArgs, error) {
	var s sshArgs
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			s.Command = args[i+1:]
			return s, nil
		}
		if len(a) < 2 || a[0] != '-' {
			s.Command = args[i:]
			return s, nil
		}
		takesNext, err := s.scanOption(a)
		if err != nil {
			return sshArgs{}, err
		}
		s.Options = append(s.Options, a)
		if takesNext {
			if i+1 == len(args) {
				return sshArgs{}, errdefs.InvalidArgument("ssh option %s needs a value, as in `banger vm ssh NAME -- -L 8080:localhost:80`", a)
			}
			i++
			s.Options = append(s.Options, args[i])
		}
	}
	return s, nil
}

// scanOption records the letters of one option word such as -AN or
// -L8080:localhost:80, and says whether its value is the next word.
func (s *sshArgs) scanOption(word string) (takesNext bool, err error) {
	for j := 1; j < len(word); j++ {
		c := word[j]
		switch {
		case strings.IndexByte(sshValueOpts, c) >= 0:
			return j == len(word)-1, nil
		case strings.IndexByte(sshFlagOpts, c) >= 0:
			s.flags += string(c)
		default:
			return false, errdefs.InvalidArgument("%q is not an ssh option: put ssh's options first and the command after them, as in `banger vm ssh NAME -- -A uname -a`, or put the command after a second --", word)
		}
	}
	return false, nil
}

// tty says whether to ask for a terminal: as ssh's -t and -T (or -N,
// nothing to run) say, else as without options.
func (s sshArgs) tty(terminal bool) bool {
	switch {
	case strings.ContainsRune(s.flags, 't'):
		return true
	case strings.ContainsAny(s.flags, "TNf"):
		return false
	}
	return terminal && len(s.Command) == 0
}

// prefix is what goes before banger's own options on ssh's command line:
// the user's options, which win over banger's (ssh keeps the first value
// of each), and, for -A, the user's agent, which banger's options
// otherwise turn off.
func (s sshArgs) prefix() []string {
	args := append([]string(nil), s.Options...)
	if strings.ContainsRune(s.flags, 'A') {
		args = append(args, "-o", "IdentityAgent=SSH_AUTH_SOCK")
	}
	return args
}

// sshWithOptions runs ssh with the user's own options. It needs the
// guest's sshd: banger cannot apply ssh options through the guest agent.
func (a *app) sshWithOptions(ctx context.Context, opts VMSSHOptions) (int, error) {
	s, err := splitSSHArgs(opts.SSHOptions)
	if err != nil {
		return 0, err
	}
	s.Command = opts.Command
	var target api.SSHTarget
	err = a.call(ctx, func(c *client.Client) (err error) {
		target, err = c.VMSSH(ctx, opts.Name)
		return err
	})
	if err != nil {
		return 0, err
	}
	return execSSH(target, s.tty(isTerminalReader(opts.Stdin)), s.Command, opts.Stdin, opts.Stdout, opts.Stderr, s.prefix()...)
}
