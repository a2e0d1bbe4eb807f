package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// Port is a host port forwarded to a VM's guest (see internal/portfwd).
type Port struct {
	HostAddr  string `json:"host_addr"`
	HostPort  int    `json:"host_port"` // as asked; 0 for any free port
	GuestPort int    `json:"guest_port"`
	Proto     string `json:"proto"` // "tcp" or "udp"
	// Bound is the host port held while the VM runs (HostPort, or the
	// free one picked); 0 while it is stopped.
	Bound int `json:"bound,omitempty"`
}

// portList stores a VM's ports as a JSON array; none as "".
type portList []Port

// Value implements driver.Valuer.
func (p portList) Value() (driver.Value, error) {
	if len(p) == 0 {
		return "", nil
	}
	b, err := json.Marshal([]Port(p))
	return string(b), err
}

// Scan implements sql.Scanner.
func (p *portList) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case string:
		b = []byte(s)
	case []byte:
		b = s
	default:
		return fmt.Errorf("scanning ports: got %T, want text", src)
	}
	*p = nil
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, (*[]Port)(p)); err != nil {
		return fmt.Errorf("scanning ports: %w", err)
	}
	return nil
}
