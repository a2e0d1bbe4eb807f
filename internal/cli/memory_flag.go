package cli

import (
	"strconv"

	"banger/internal/config"
)

// memoryValue lets an amount of memory in MiB be a flag: "4096" (MiB),
// "4G", "512M".
type memoryValue struct{ mib *int }

func (v memoryValue) String() string { return strconv.Itoa(*v.mib) }
func (v memoryValue) Type() string   { return "size" }
func (v memoryValue) Set(s string) error {
	mib, err := config.ParseMemoryMiB(s)
	if err != nil {
		return err
	}
	*v.mib = mib
	return nil
}

// memoryUsage is the --memory flags' help, before the default's source.
const memoryUsage = "memory, in MiB or with a unit: 2048, 4G"
