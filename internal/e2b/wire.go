package e2b

import "time"

// The JSON the E2B API speaks; field names are the wire contract's.

// newSandbox is the body of POST /sandboxes and POST /v2/sandboxes.
type newSandbox struct {
	TemplateID    string            `json:"templateID"`
	Timeout       *int              `json:"timeout"`
	Metadata      map[string]string `json:"metadata"`
	EnvVars       map[string]string `json:"envVars"`
	Secure        *bool             `json:"secure"`
	AllowInternet *bool             `json:"allow_internet_access"`
	Network       *networkConfig    `json:"network"`
	AutoPause     *bool             `json:"autoPause"`
	AutoResume    *struct {
		Enabled bool `json:"enabled"`
	} `json:"autoResume"`
	// Refused when set: banger has no counterpart.
	MCP          any `json:"mcp"`
	IAM          any `json:"iam"`
	VolumeMounts any `json:"volumeMounts"`
}

// networkConfig is a sandbox's egress, at create and in PUT .../network.
type networkConfig struct {
	AllowOut      []string `json:"allowOut,omitempty"`
	DenyOut       []string `json:"denyOut,omitempty"`
	AllowInternet *bool    `json:"allow_internet_access,omitempty"`
	// Refused when set: banger has no counterpart.
	Rules       map[string]any `json:"rules,omitempty"`
	EgressProxy any            `json:"egressProxy,omitempty"`
	// Accepted and ignored: ports are reached through bangerd's listener,
	// never from other machines' public URLs.
	AllowPublicTraffic *bool  `json:"allowPublicTraffic,omitempty"`
	MaskRequestHost    string `json:"maskRequestHost,omitempty"`
	HTTPSPorts         []int  `json:"httpsPorts,omitempty"`
}

// sandbox is the answer of create, connect, resume and each fork.
type sandbox struct {
	SandboxID          string  `json:"sandboxID"`
	TemplateID         string  `json:"templateID"`
	Alias              string  `json:"alias,omitempty"`
	ClientID           string  `json:"clientID"`
	EnvdVersion        string  `json:"envdVersion"`
	EnvdAccessToken    string  `json:"envdAccessToken,omitempty"`
	Domain             string  `json:"domain"`
	TrafficAccessToken *string `json:"trafficAccessToken"`
}

// listedSandbox is one entry of the lists.
type listedSandbox struct {
	SandboxID    string            `json:"sandboxID"`
	TemplateID   string            `json:"templateID"`
	Alias        string            `json:"alias,omitempty"`
	ClientID     string            `json:"clientID"`
	StartedAt    time.Time         `json:"startedAt"`
	EndAt        time.Time         `json:"endAt"`
	State        string            `json:"state"`
	CPUCount     int               `json:"cpuCount"`
	MemoryMB     int               `json:"memoryMB"`
	DiskSizeMB   int64             `json:"diskSizeMB"`
	EnvdVersion  string            `json:"envdVersion"`
	Metadata     map[string]string `json:"metadata"`
	VolumeMounts []struct{}        `json:"volumeMounts"`
}

// sandboxDetail is the answer of GET /sandboxes/{id}.
type sandboxDetail struct {
	listedSandbox
	Domain          string         `json:"domain"`
	EnvdAccessToken string         `json:"envdAccessToken,omitempty"`
	AllowInternet   *bool          `json:"allowInternetAccess"`
	Network         *networkConfig `json:"network,omitempty"`
	Lifecycle       lifecycle      `json:"lifecycle"`
}

type lifecycle struct {
	AutoResume bool   `json:"autoResume"`
	OnTimeout  string `json:"onTimeout"`
}

// timeoutBody is the body of .../timeout, .../connect and .../resume, and
// forkBody of .../fork; memory is connect's and pause's.
type timeoutBody struct {
	Timeout *int  `json:"timeout"`
	Memory  *bool `json:"memory"`
}

type forkBody struct {
	Timeout *int `json:"timeout"`
	Count   *int `json:"count"`
}

type forkResult struct {
	Sandbox *sandbox  `json:"sandbox,omitempty"`
	Error   *apiError `json:"error,omitempty"`
}

// metric is one sample of GET /sandboxes/{id}/metrics.
type metric struct {
	Timestamp     time.Time `json:"timestamp"`
	TimestampUnix int64     `json:"timestampUnix"`
	CPUCount      int       `json:"cpuCount"`
	CPUUsedPct    float64   `json:"cpuUsedPct"`
	MemUsed       uint64    `json:"memUsed"`
	MemTotal      uint64    `json:"memTotal"`
	MemCache      uint64    `json:"memCache"`
	DiskUsed      uint64    `json:"diskUsed"`
	DiskTotal     uint64    `json:"diskTotal"`
}

// apiError is every error's body; the SDK reads code.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}
