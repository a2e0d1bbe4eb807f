package main

import (
	"encoding/json"
	"fmt"
	"os"

	"banger/internal/api"
)

// coldSkipped says BENCH_COLD=0 asked to leave out the cold creates and
// runs.
func coldSkipped() bool { return os.Getenv("BENCH_COLD") == "0" }

// measureCold runs the cold figures, vm create and vm run against QEMU
// booted by hand, and returns their rows and the cold runs' times;
// nothing when BENCH_COLD=0.
func (b *vmBench) measureCold(sizes imageSizes) ([]oneShot, samples, error) {
	if coldSkipped() {
		fmt.Println("\n(cold vm create and vm run figures skipped: BENCH_COLD=0)")
		return nil, nil, nil
	}
	creates, raw, err := b.measureCreates()
	if err != nil {
		return nil, nil, err
	}
	runs, err := b.measureRuns(raw)
	if err != nil {
		return nil, nil, err
	}
	return append(runRows(runs), createRows(creates, sizes)...), runs.banger, nil
}

// measureWarm times `vm run --rm -- true` restored from a warm template,
// beside the cold runs measured before it on the same machine (none when
// they were skipped), reports the template's size on disk, and the
// phases of the restores (see measureRestore).
func (b *vmBench) measureWarm(cold samples) ([]oneShot, error) {
	b.logf("making the warm template of %s", goldenImage)
	if _, err := b.cli("image", "warm", goldenImage); err != nil {
		return nil, err
	}
	var warm samples
	var runs []warmRun
	for r := 0; r < b.rounds; r++ {
		name := fmt.Sprintf("warm-%d", r)
		b.logf("vm run --rm %s, warm", name)
		marks := []string{"==> restoring from the warm template", "==> " + name + " is ready"}
		total, at, err := b.timedCLI(marks, "vm", "run", "--rm", "--name", name, "--", "true")
		if err != nil {
			return nil, err
		}
		warm = append(warm, total)
		runs = append(runs, warmRun{name: name, total: total, toRestore: at[0], toReady: at[1]})
	}
	b.warmRuns = warm
	bytes, err := b.templateBytes()
	if err != nil {
		return nil, err
	}
	restore, err := b.measureRestore(runs)
	if err != nil {
		return nil, err
	}
	rows := []oneShot{{name: "vm run --rm -- true, restored from a warm template", value: warm.String()}}
	if len(cold) == 0 {
		rows = append(rows, oneShot{name: "vm run --rm -- true: warm / cold", value: "skipped (BENCH_COLD=0)"})
	} else {
		rows = append([]oneShot{{name: "vm run --rm -- true, cold (from the rows above)", value: cold.String()}}, rows...)
		rows = append(rows, ratioRow("vm run --rm -- true: warm / cold", warm, cold, 0.10))
	}
	rows = append(rows, oneShot{name: "warm template on disk", value: mib(bytes)})
	return append(rows, restore...), nil
}

// templateBytes is what the golden image's warm template takes on disk.
func (b *vmBench) templateBytes() (int64, error) {
	out, err := b.cli("image", "show", goldenImage, "--json")
	if err != nil {
		return 0, err
	}
	var d api.ImageDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		return 0, err
	}
	if len(d.Templates) == 0 {
		return 0, fmt.Errorf("image show %s lists no warm template", goldenImage)
	}
	return d.Templates[0].Bytes, nil
}
