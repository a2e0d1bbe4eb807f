package network

import (
	"bytes"
	"encoding/json"

	"banger/internal/errdefs"
)

// OpKind names a privileged network operation.
type OpKind string

// The operations the net helper performs.
const (
	OpEnsureBridge OpKind = "ensure-bridge"
	OpEnsureTap    OpKind = "ensure-tap"
	OpDeleteTap    OpKind = "delete-tap"
	OpTeardown     OpKind = "teardown"
	OpRouteDNS     OpKind = "route-dns"
)

// Op is one privileged network operation, in the form it travels to the
// helper: `bangerd net '<Op as JSON>'`.
type Op struct {
	Kind   OpKind `json:"op"`
	Config Config `json:"config,omitzero"` // ensure-bridge, ensure-tap, teardown, route-dns
	Tap    string `json:"tap,omitempty"`   // ensure-tap, delete-tap
	Owner  int    `json:"owner,omitempty"` // ensure-tap: uid that may open the tap
	// Unplugged, on ensure-tap, leaves the tap off the bridge (taking it
	// off if it was on): a guest that may still use another VM's
	// addresses cannot reach the network. Ensuring it again plugs it in.
	Unplugged bool `json:"unplugged,omitempty"`
}

// String names the operation for messages, like "ensure-tap bg-abc".
func (o Op) String() string {
	if o.Tap != "" {
		return string(o.Kind) + " " + o.Tap
	}
	return string(o.Kind)
}

// Apply performs the operation in this process, which needs CAP_NET_ADMIN.
func (o Op) Apply() error {
	switch o.Kind {
	case OpEnsureBridge:
		return EnsureBridge(o.Config)
	case OpEnsureTap:
		if o.Unplugged {
			return EnsureUnpluggedTap(o.Config, o.Tap, o.Owner)
		}
		return EnsureTap(o.Config, o.Tap, o.Owner)
	case OpDeleteTap:
		return DeleteTap(o.Tap)
	case OpTeardown:
		return Teardown(o.Config)
	case OpRouteDNS:
		return RouteDNS(o.Config)
	}
	return unknownOp(o.Kind)
}

// check validates the operation's arguments without touching the host, so
// a client can reject a bad request before asking for privileges.
func (o Op) check() error {
	switch o.Kind {
	case OpEnsureBridge, OpTeardown, OpRouteDNS:
		return o.Config.Validate()
	case OpEnsureTap:
		if err := o.Config.Validate(); err != nil {
			return err
		}
		if err := checkOwner(o.Owner); err != nil {
			return err
		}
		return checkTapName(o.Tap)
	case OpDeleteTap:
		return checkTapName(o.Tap)
	}
	return unknownOp(o.Kind)
}

func unknownOp(k OpKind) error {
	return errdefs.InvalidArgument("unknown network operation %q; bangerd and its net helper may be different versions", k)
}

// RunHelper is the `bangerd net '<json>'` entry point that Sudo runs as
// root: args are "net" and one Op in JSON, which it decodes strictly and
// applies. It is internal to banger; people do not run it by hand.
func RunHelper(args []string) error {
	if len(args) != 2 || args[0] != "net" {
		return errdefs.InvalidArgument("usage: bangerd net '<operation as JSON>' (bangerd runs this itself through sudo; it is not meant to be run by hand)")
	}
	op, err := parseOp([]byte(args[1]))
	if err != nil {
		return err
	}
	return op.Apply()
}

// parseOp decodes one Op, refusing unknown fields and trailing data.
func parseOp(data []byte) (Op, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var op Op
	if err := dec.Decode(&op); err != nil {
		return Op{}, errdefs.InvalidArgument("decoding network operation: %v", err)
	}
	if dec.More() {
		return Op{}, errdefs.InvalidArgument("decoding network operation: data after the JSON object")
	}
	if err := op.check(); err != nil {
		return Op{}, err
	}
	return op, nil
}
