package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// qmp is the little of QEMU's machine protocol the restore baseline
// speaks, as a user scripting QEMU would: JSON objects, one a line,
// events read and dropped. It is written here, not borrowed from the
// driver, so that the baseline owes banger nothing.
type qmp struct {
	conn net.Conn
	dec  *json.Decoder
}

// qmpTimeout bounds any one exchange.
const qmpTimeout = time.Minute

// dialQMP connects to the QMP socket at path, reads the greeting and
// leaves capability negotiation.
func dialQMP(path string) (*qmp, error) {
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, err
	}
	q := &qmp{conn: conn, dec: json.NewDecoder(conn)}
	conn.SetDeadline(time.Now().Add(qmpTimeout))
	var greeting struct {
		QMP json.RawMessage `json:"QMP"`
	}
	if err := q.dec.Decode(&greeting); err != nil || greeting.QMP == nil {
		conn.Close()
		return nil, fmt.Errorf("no QMP greeting at %s: %v", path, err)
	}
	if _, err := q.do("qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

// do runs command with args (none when nil) and returns its "return".
func (q *qmp) do(command string, args map[string]any) (json.RawMessage, error) {
	q.conn.SetDeadline(time.Now().Add(qmpTimeout))
	msg := map[string]any{"execute": command}
	if args != nil {
		msg["arguments"] = args
	}
	req, _ := json.Marshal(msg)
	if _, err := q.conn.Write(append(req, '\n')); err != nil {
		return nil, fmt.Errorf("QMP %s: %w", command, err)
	}
	for {
		var r struct {
			Event  string          `json:"event"`
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Desc string `json:"desc"`
			} `json:"error"`
		}
		if err := q.dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("QMP %s: %w", command, err)
		}
		switch {
		case r.Error != nil:
			return nil, fmt.Errorf("QMP %s: %s", command, r.Error.Desc)
		case r.Event == "" && r.Return != nil:
			return r.Return, nil
		}
	}
}

// status is query-status's run state: "inmigrate", "paused", "running"...
func (q *qmp) status() (string, error) {
	raw, err := q.do("query-status", nil)
	if err != nil {
		return "", err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Status == "" {
		return "", errors.Join(errors.New("QMP query-status: no status"), err)
	}
	return st.Status, nil
}

// ignoreShared sets the x-ignore-shared migration capability.
func (q *qmp) ignoreShared(on bool) error {
	caps := []map[string]any{{"capability": "x-ignore-shared", "state": on}}
	_, err := q.do("migrate-set-capabilities", map[string]any{"capabilities": caps})
	return err
}

func (q *qmp) Close() error { return q.conn.Close() }
