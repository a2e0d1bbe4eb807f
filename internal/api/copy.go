package api

// CopyRequest asks to copy files into or out of a running VM through its
// guest agent (POST /v1/vms/{name}/copy-in and /copy-out, upgraded to a
// stream; see UpgradeProtocol). For copy-in, the client's input frames
// carry a tar stream (see package tarcopy) that the guest extracts at
// Path; for copy-out, the output frames carry the tar stream of Path.
// Either ends with an exit status: 0, or one of agentproto's Copy codes
// after the reason on the error stream.
type CopyRequest struct {
	// Path is the absolute guest path.
	Path string `json:"path"`
}
