package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/guestssh/sshcmd"
)

var testTarget = api.SSHTarget{User: "root", Host: "172.16.0.2", Key: "/keys/id_ed25519", KnownHosts: "/vms/box/known hosts", Alias: "box"}

func TestSSHConfigBlock(t *testing.T) {
	got := sshConfigBlock("box", testTarget)
	for _, want := range []string{
		"Host box box.vm\n",
		"  HostName 172.16.0.2\n",
		"  User root\n",
		"  IdentityFile /keys/id_ed25519\n",
		"  IdentitiesOnly yes\n",
		"  UserKnownHostsFile \"/vms/box/known hosts\"\n",
		"  StrictHostKeyChecking yes\n",
		"  HostKeyAlias box\n",
		"  LogLevel ERROR\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("block lacks %q:\n%s", want, got)
		}
	}
}

// TestSSHConfigMatchesVMSSH checks, with ssh itself, that a Host block sets
// every option `vm ssh` passes on the command line, to the same value.
func TestSSHConfigMatchesVMSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh is not installed")
	}
	dir := t.TempDir()
	target := testTarget
	target.Key = filepath.Join(dir, "id_ed25519") // ssh drops a -i file that does not exist
	cfg := filepath.Join(dir, "config")
	for path, data := range map[string]string{target.Key: "key", cfg: sshConfigBlock("box", target)} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fromConfig := sshEffective(t, "-F", cfg, "box.vm")
	gt := sshcmd.Target{User: target.User, Host: target.Host, Key: target.Key, KnownHosts: target.KnownHosts, Alias: target.Alias}
	args := append([]string{"-F", "/dev/null"}, gt.Args(false, nil)...)
	fromArgs := sshEffective(t, args...)
	keys := []string{"hostname", "user", "identityfile", "port"}
	for _, o := range gt.Options() {
		keys = append(keys, strings.ToLower(o.Key))
	}
	for _, k := range keys {
		if fromConfig[k] == "" || fromConfig[k] != fromArgs[k] {
			t.Errorf("%s: ssh-config gives %q, vm ssh %q", k, fromConfig[k], fromArgs[k])
		}
	}
}

// sshEffective is what `ssh -G` says the settings are, by lower-case key.
func sshEffective(t *testing.T, args ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("ssh", append([]string{"-G"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ssh -G %q: %v", args, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, " ")
		if _, seen := m[k]; !seen {
			m[k] = v
		}
	}
	return m
}

func TestSplitSSHArgs(t *testing.T) {
	tests := []struct {
		args          []string
		options, cmd  string
		tty, terminal bool
	}{
		{args: []string{"uname", "-a"}, cmd: "uname -a"},
		{args: []string{"cd /x && make"}, cmd: "cd /x && make"},
		{args: []string{"-L", "8080:localhost:80", "-N"}, options: "-L 8080:localhost:80 -N", terminal: true},
		{args: []string{"-L8080:localhost:80", "-A", "git", "pull"}, options: "-L8080:localhost:80 -A", cmd: "git pull"},
		{args: []string{"-v", "--", "-x"}, options: "-v", cmd: "-x"},
		{args: []string{"-t", "top"}, options: "-t", cmd: "top", tty: true},
		{args: []string{"-Ao", "ForwardX11=no"}, options: "-Ao ForwardX11=no", tty: true, terminal: true},
		{args: nil, tty: true, terminal: true},
	}
	for _, tt := range tests {
		s, err := splitSSHArgs(tt.args)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if o, c := strings.Join(s.Options, " "), strings.Join(s.Command, " "); o != tt.options || c != tt.cmd {
			t.Errorf("%q: options %q command %q, want %q %q", tt.args, o, c, tt.options, tt.cmd)
		}
		if got := s.tty(tt.terminal); got != tt.tty {
			t.Errorf("%q: tty = %v", tt.args, got)
		}
	}
}

func TestSplitSSHArgsRefuses(t *testing.T) {
	for _, args := range [][]string{{"-L"}, {"-Z", "ls"}, {"-lroot", "-Z"}} {
		if _, err := splitSSHArgs(args); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
}

// -A keeps the user's agent, which banger's options otherwise turn off,
// and the user's options come before banger's, so that they win.
func TestSSHPrefix(t *testing.T) {
	s, _ := splitSSHArgs([]string{"-A", "-o", "ConnectTimeout=3"})
	if got := strings.Join(s.prefix(), " "); got != "-A -o ConnectTimeout=3 -o IdentityAgent=SSH_AUTH_SOCK" {
		t.Errorf("prefix = %q", got)
	}
}
