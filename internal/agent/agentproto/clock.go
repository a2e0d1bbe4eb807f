package agentproto

// OpSetClock sets the guest's wall clock and nothing else: a guest resumed
// from a suspend keeps its identity, but its clock stood still while it
// was saved. The request carries an Identity of which only TimeUnixNano
// is read; the answer is empty. A guest may be asked any number of
// times. Added after the version 1 ops, so older agents answer
// unknown-op.
const OpSetClock = "set-clock"
