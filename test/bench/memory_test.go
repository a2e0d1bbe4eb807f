package main

import (
	"strings"
	"testing"
)

// TestParseSmaps: the guest's RAM is the largest mapping, TCG's code
// cache every anonymous rwx mapping; QEMU's binary and heap are neither.
func TestParseSmaps(t *testing.T) {
	smaps := `55b37fd9f000-55b380336000 r-xp 00407000 fe:00 10166300                   /usr/bin/qemu-system-x86_64
Size:               5724 kB
Pss:                5528 kB
55b3996a5000-55b39a20a000 rw-p 00000000 00:00 0                          [heap]
Size:              11668 kB
Pss:                5392 kB
7f5a5bfff000-7f5a9bfff000 rw-s 00000000 fe:00 10667411                   /state/templates/k/memory
Size:            1048576 kB
Pss:              196892 kB
7f5a9c000000-7f5a9cfff000 rwxp 00000000 00:00 0 
Size:              16380 kB
Pss:               16380 kB
7f5a9d000000-7f5a9dfff000 rwxp 00000000 00:00 0 
Size:              16380 kB
Pss:                1000 kB
`
	ram, tcg, err := parseSmaps(strings.NewReader(smaps))
	if err != nil || ram != 196892<<10 || tcg != (16380+1000)<<10 {
		t.Errorf("parseSmaps = RAM %d KiB, TCG %d KiB, %v; want 196892 and 17380", ram>>10, tcg>>10, err)
	}
}
