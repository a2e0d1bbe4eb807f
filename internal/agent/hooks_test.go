package agent

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/agent/agentproto"
)

func TestHostnameOptionIsWhatTheGuestReports(t *testing.T) {
	opts := execOptions(t)
	opts.Hostname = func() string { return "fake-guest" }
	m, _ := muxHost(t, opts)
	if got := m.Hello().Hostname; got != "fake-guest" {
		t.Errorf("hello hostname = %q, want fake-guest", got)
	}
	st, err := m.Status(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Hostname != "fake-guest" {
		t.Errorf("status hostname = %q, want fake-guest", st.Hostname)
	}
}

func TestCommandOptionRewritesExecs(t *testing.T) {
	opts := execOptions(t)
	var asked []string
	opts.Command = func(spec agentproto.ExecSpec) (agentproto.ExecSpec, error) {
		asked = append(asked, strings.Join(spec.Argv, " "))
		return agentproto.ExecSpec{Argv: []string{"echo", "instead"}}, nil
	}
	m, _ := muxHost(t, opts)
	got := run(t, m, agentproto.ExecSpec{Argv: []string{"rm", "-rf", "/nonexistent"}}, "")
	if got.stdout != "instead\n" || got.exit == nil || got.exit.Code != 0 {
		t.Errorf("exec = %+v, want the rewritten command's output and status 0", got)
	}
	if len(asked) != 1 || asked[0] != "rm -rf /nonexistent" {
		t.Errorf("Command saw %q, want the host's command", asked)
	}
}

func TestCommandOptionRefusesExecsAndSessions(t *testing.T) {
	opts := execOptions(t)
	opts.Command = func(agentproto.ExecSpec) (agentproto.ExecSpec, error) {
		return agentproto.ExecSpec{}, errors.New("not in this guest")
	}
	m, _ := muxHost(t, opts)
	spec := agentproto.ExecSpec{Argv: []string{"true"}}
	if _, err := m.Exec(testCtx(t), spec); err == nil || !strings.Contains(err.Error(), "not in this guest") {
		t.Errorf("Exec error = %v, want the refusal", err)
	}
	if _, err := m.StartSession(testCtx(t), "s", spec); err == nil || !strings.Contains(err.Error(), "not in this guest") {
		t.Errorf("StartSession error = %v, want the refusal", err)
	}
	if infos, err := m.ListSessions(testCtx(t)); err != nil || len(infos) != 0 {
		t.Errorf("sessions after a refusal = %v, %v; want none", infos, err)
	}
}
