// Package dns is bangerd's DNS server for the .vm zone. It answers
// NAME.vm with the address of the VM called NAME for as long as that VM
// holds one, answers NXDOMAIN for names no VM has, and forwards every other
// question to the host's own resolvers, so a guest can use it as its only
// resolver.
//
// The server listens on the bridge's gateway address only (UDP and TCP,
// port 53), from when the bridge comes up until it is torn down. It
// answers only clients on the VM subnet and the host itself, and refuses
// everyone else. A Guard narrows forwarding further, per client: bangerd
// uses one to answer a guest under an allow= network policy only for the
// domains it lists, opening each answer's addresses for it first (see
// AddrsOf).
//
// The package also points systemd-resolved at the server for the .vm
// zone, over resolved's D-Bus API (see RouteLink), so that names resolve
// on the host too.
package dns
