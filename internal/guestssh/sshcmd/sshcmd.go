// Package sshcmd is the OpenSSH command line that reaches a guest: the
// options every connection uses (strict checking against the VM's own
// known_hosts file, which package guestssh writes) and the quoting of a
// command for the guest's shell.
package sshcmd

import "strings"

// Target is one guest to connect to.
type Target struct {
	User       string // "root"
	Host       string // guest address
	Key        string // private key path
	KnownHosts string // file written by guestssh.WriteKnownHosts
	Alias      string // the name the known_hosts entries carry
}

// Option is one OpenSSH client setting, as ssh_config(5) names it.
type Option struct{ Key, Value string }

// Options are the settings every connection to the guest uses, besides
// its user, address and key: strict checking against the VM's own
// known_hosts file, no agent, no prompts. `banger vm ssh` passes them with
// -o and `banger vm ssh-config` writes them into Host blocks, so the two
// cannot drift apart.
func (t Target) Options() []Option {
	return []Option{
		{"IdentitiesOnly", "yes"},
		{"IdentityAgent", "none"},
		{"StrictHostKeyChecking", "yes"},
		{"UserKnownHostsFile", t.KnownHosts},
		{"GlobalKnownHostsFile", "/dev/null"},
		{"HostKeyAlias", t.Alias},
		{"UpdateHostKeys", "no"},
		{"BatchMode", "yes"},
		{"ConnectTimeout", "10"},
		{"ServerAliveInterval", "15"},
		{"LogLevel", "ERROR"},
	}
}

// Args is the ssh command line (without "ssh") that runs command in the
// guest, or opens a login shell when command is empty. tty asks for a
// terminal (-t); without it, -T keeps the streams clean for scripts.
func (t Target) Args(tty bool, command []string) []string {
	args := []string{"-i", t.Key}
	for _, o := range t.Options() {
		args = append(args, "-o", o.Key+"="+o.Value)
	}
	if tty {
		args = append(args, "-t")
	} else {
		args = append(args, "-T")
	}
	args = append(args, t.User+"@"+t.Host)
	if len(command) > 0 {
		args = append(args, "--", QuoteCommand(command))
	}
	return args
}

// QuoteCommand joins argv into one string the guest's shell splits back
// into the same words, as ssh passes its command through a shell. A single
// argument is passed as is, so `-- 'cd /x && make'` keeps working as a
// shell snippet.
func QuoteCommand(argv []string) string {
	if len(argv) == 1 {
		return argv[0]
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = quote(a)
	}
	return strings.Join(quoted, " ")
}

func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
