package network

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"time"

	"banger/internal/errdefs"
)

// OpKind names a privileged network operation.
type OpKind string

// The operations the net helper performs.
const (
	OpEnsureBridge  OpKind = "ensure-bridge"
	OpEnsureTap     OpKind = "ensure-tap"
	OpDeleteTap     OpKind = "delete-tap"
	OpTeardown      OpKind = "teardown"
	OpRouteDNS      OpKind = "route-dns"
	OpSetPolicy     OpKind = "set-policy"
	OpAllowResolved OpKind = "allow-resolved"
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
	Unplugged bool    `json:"unplugged,omitempty"`
	Guest     *Guest  `json:"guest,omitempty"`  // set-policy
	Policy    *Policy `json:"policy,omitempty"` // set-policy
	// Dests and TTL, on allow-resolved, are the addresses to add to the
	// VM's allow sets and how many seconds they stay.
	Dests []netip.AddrPort `json:"dests,omitempty"`
	TTL   int              `json:"ttl,omitempty"`
}

// String names the operation for messages, like "ensure-tap bg-abc".
func (o Op) String() string {
	if o.Guest != nil {
		return string(o.Kind) + " " + o.Guest.Tap
	}
	if o.Tap != "" {
		return string(o.Kind) + " " + o.Tap
	}
	return string(o.Kind)
}

// Apply performs the operation in this process, which needs
// CAP_NET_ADMIN, on behalf of the user caller: only that user's bridge,
// taps and nftables tables are changed or removed.
func (o Op) Apply(caller int) error {
	if err := o.check(); err != nil {
		return err
	}
	switch o.Kind {
	case OpEnsureBridge:
		return ensureBridge(caller, o.Config)
	case OpEnsureTap:
		return ensureTap(caller, o.Config, o.Tap, o.Owner, o.Unplugged)
	case OpDeleteTap:
		return deleteTap(caller, o.Tap)
	case OpTeardown:
		return teardown(caller, o.Config)
	case OpRouteDNS:
		return routeDNS(caller, o.Config)
	case OpSetPolicy:
		return setPolicy(caller, o.Config, *o.Guest, *o.Policy)
	case OpAllowResolved:
		return allowResolved(caller, o.Config, o.Tap, o.Dests, time.Duration(o.TTL)*time.Second)
	}
	return unknownOp(o.Kind)
}

// Check validates the operation's arguments as Local and Sudo do before
// they act, without touching the host: fakes of Client refuse with it
// what the real ones would.
func (o Op) Check() error { return o.check() }

// check validates the operation's arguments without touching the host, so
// a client can reject a bad request before asking for privileges. Fields
// the operation does not use must be empty.
func (o Op) check() error {
	if err := o.checkFields(); err != nil {
		return err
	}
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
	case OpSetPolicy:
		if err := o.Config.Validate(); err != nil {
			return err
		}
		if err := o.Guest.check(o.Config); err != nil {
			return err
		}
		return o.Policy.Check()
	case OpAllowResolved:
		if err := o.Config.Validate(); err != nil {
			return err
		}
		if err := checkTapName(o.Tap); err != nil {
			return err
		}
		return checkResolved(o.Dests, o.TTL)
	}
	return unknownOp(o.Kind)
}

// opFields lists, per operation, the fields it reads besides Kind.
var opFields = map[OpKind]string{
	OpEnsureBridge:  "config",
	OpTeardown:      "config",
	OpRouteDNS:      "config",
	OpEnsureTap:     "config tap owner unplugged",
	OpDeleteTap:     "tap",
	OpSetPolicy:     "config guest policy",
	OpAllowResolved: "config tap dests ttl",
}

// checkFields refuses an operation that sets a field it does not use.
func (o Op) checkFields() error {
	want, ok := opFields[o.Kind]
	if !ok {
		return unknownOp(o.Kind)
	}
	set := map[string]bool{
		"config": o.Config != Config{}, "tap": o.Tap != "", "owner": o.Owner != 0,
		"unplugged": o.Unplugged, "guest": o.Guest != nil, "policy": o.Policy != nil,
		"dests": o.Dests != nil, "ttl": o.TTL != 0,
	}
	for _, f := range []string{"guest", "policy"} {
		if strings.Contains(want, f) && !set[f] {
			return errdefs.InvalidArgument("network operation %s needs %q", o.Kind, f)
		}
	}
	for f, isSet := range set {
		if isSet && !slices.Contains(strings.Fields(want), f) {
			return errdefs.InvalidArgument("network operation %s does not take %q", o.Kind, f)
		}
	}
	return nil
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
	return op.Apply(helperCaller())
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
