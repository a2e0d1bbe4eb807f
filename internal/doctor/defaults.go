package doctor

import (
	"fmt"
	"strings"
)

// checkDefaults shows the VM defaults and where each came from; it always
// passes.
func checkDefaults(opts Options) Result {
	r := pass("vm defaults", defaultsSummary(opts.Defaults))
	nameW, valueW := 0, 0
	for _, f := range opts.Defaults {
		nameW, valueW = max(nameW, len(f.Name)), max(valueW, len(f.Value))
	}
	for _, f := range opts.Defaults {
		r.Details = append(r.Details, fmt.Sprintf("%-*s  %-*s  (%s)", nameW, f.Name, valueW, f.Value, f.Provenance))
	}
	where := opts.ConfigPath
	if where == "" {
		where = "the config file"
	}
	r.Details = append(r.Details, "override in "+where+" under [vm_defaults]")
	return r
}

// defaultsSummary returns e.g. "4 vcpu · 8192 MiB · 8G disk".
func defaultsSummary(fields []DefaultField) string {
	if len(fields) == 0 {
		return "none reported"
	}
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		switch f.Name {
		case "vcpu":
			parts = append(parts, f.Value+" vcpu")
		case "memory_mib":
			parts = append(parts, f.Value+" MiB")
		case "disk_size":
			parts = append(parts, f.Value+" disk")
		default:
			parts = append(parts, f.Name+" "+f.Value)
		}
	}
	return strings.Join(parts, " · ")
}
