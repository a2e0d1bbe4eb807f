package main

import (
	"encoding/json"
	"fmt"

	"banger/internal/api"
)

// measureWarm times `vm run --rm -- true` restored from a warm template,
// beside the cold runs measured before it on the same machine, and reports
// the template's size on disk and what a restored VM costs the host in
// memory against a cold-booted one.
func (b *vmBench) measureWarm(cold samples) ([]oneShot, error) {
	b.logf("making the warm template of %s", goldenImage)
	if _, err := b.cli("image", "warm", goldenImage); err != nil {
		return nil, err
	}
	var warm samples
	for r := 0; r < b.rounds; r++ {
		name := fmt.Sprintf("warm-%d", r)
		b.logf("vm run --rm %s, warm", name)
		total, _, err := b.timedCLI([]string{"==> restoring from the warm template"}, "vm", "run", "--rm", "--name", name, "--", "true")
		if err != nil {
			return nil, err
		}
		warm = append(warm, total)
	}
	out, err := b.cli("image", "show", goldenImage, "--json")
	if err != nil {
		return nil, err
	}
	var d api.ImageDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		return nil, err
	}
	if len(d.Templates) == 0 {
		return nil, fmt.Errorf("image show %s lists no warm template", goldenImage)
	}
	return []oneShot{
		{name: "vm run --rm -- true, cold (from the rows above)", value: cold.String()},
		{name: "vm run --rm -- true, restored from a warm template", value: warm.String()},
		ratioRow("vm run --rm -- true: warm / cold", warm, cold, 0.10),
		{name: "warm template on disk", value: mib(d.Templates[0].Bytes)},
	}, nil
}
