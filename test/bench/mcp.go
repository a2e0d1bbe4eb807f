package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"text/tabwriter"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"banger/internal/mcp"
)

const (
	// mcpCalls is how many calls each figure of benchMCP is made of.
	mcpCalls = 50
	// mcpTarget: sandbox_run's p50 should be at most this multiple of
	// vm exec's.
	mcpTarget = 1.5
)

// benchMCPUnlessSkipped is benchMCP, unless BENCH_MCP=0.
func benchMCPUnlessSkipped(banger func(args ...string) *exec.Cmd, vm string) error {
	if os.Getenv("BENCH_MCP") == "0" {
		fmt.Println("\n(MCP figure skipped: BENCH_MCP=0)")
		return nil
	}
	return benchMCP(banger, vm)
}

// benchMCP measures sandbox_run of `true` through one `banger mcp`
// session over stdio, as an agent calls it, beside `banger vm exec VM --
// true`, mcpCalls calls each, alternating, on the same running VM. The
// VM gets the MCP session label for the run, as the tools act only on
// sandboxes banger mcp made; the session did not make it, so it leaves
// it running. A first call of each is not counted.
func benchMCP(banger func(args ...string) *exec.Cmd, vm string) error {
	if out, err := banger("vm", "label", vm, mcp.SessionLabel+"=bench").CombinedOutput(); err != nil {
		return fmt.Errorf("labelling VM %s: %v: %s", vm, err, out)
	}
	defer banger("vm", "label", vm, mcp.SessionLabel+"-").Run()
	ctx := context.Background()
	c := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: benchVersion}, nil)
	cs, err := c.Connect(ctx, &sdk.CommandTransport{Command: banger("mcp")}, nil)
	if err != nil {
		return fmt.Errorf("starting banger mcp: %w", err)
	}
	defer cs.Close()
	runTrue := func() error {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "sandbox_run", Arguments: map[string]any{"sandbox": vm, "command": "true"}})
		if err == nil && res.IsError {
			err = fmt.Errorf("sandbox_run: %v", res.Content)
		}
		return err
	}
	execTrue := func() error {
		if out, err := banger("vm", "exec", vm, "--", "true").CombinedOutput(); err != nil {
			return fmt.Errorf("vm exec: %v: %s", err, out)
		}
		return nil
	}
	var runs, execs []time.Duration
	for i := 0; i <= mcpCalls; i++ {
		for _, f := range []struct {
			fn  func() error
			out *[]time.Duration
		}{{runTrue, &runs}, {execTrue, &execs}} {
			start := time.Now()
			if err := f.fn(); err != nil {
				return err
			}
			if i > 0 {
				*f.out = append(*f.out, time.Since(start))
			}
		}
	}
	return reportMCP(vm, runs, execs)
}

// reportMCP prints benchMCP's figures.
func reportMCP(vm string, runs, execs []time.Duration) error {
	for _, s := range [][]time.Duration{runs, execs} {
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	}
	runP50, execP50 := percentile(runs, 0.50), percentile(execs, 0.50)
	r := float64(runP50) / float64(execP50)
	fmt.Printf("\nMCP: %d calls each on VM %s, alternating\n", mcpCalls, vm)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tp50\tp95\ttarget")
	fmt.Fprintf(tw, "sandbox_run true (banger mcp, stdio)\t%s\t%s\t%s\n", ms(runP50), ms(percentile(runs, 0.95)),
		verdict(r <= mcpTarget, fmt.Sprintf("p50 <= %.1fx vm exec p50 (%.2fx)", mcpTarget, r)))
	fmt.Fprintf(tw, "baseline: banger vm exec VM -- true\t%s\t%s\t\n", ms(execP50), ms(percentile(execs, 0.95)))
	return tw.Flush()
}
