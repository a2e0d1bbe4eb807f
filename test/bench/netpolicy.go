package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"banger/internal/network"
)

// policyRounds is how many pairs of runs the policy's price is taken
// from. What the policy itself does (its rules, set up and removed with
// the tap) takes no time a run can show; a warm run is seconds of
// emulated guest work, which other load on the machine stretches by 10
// to 50 %, one run at a time. On two CPUs busy with other work, six
// pairs compared by their medians put the ratio anywhere from 0.82x to
// 1.22x (nine times in ten) with no difference between the policies;
// twelve, compared by their faster halves, from 0.92x to 1.08x.
const policyRounds = 12

// measurePolicyUnlessSkipped is measurePolicy, unless BENCH_POLICY=0.
func (b *vmBench) measurePolicyUnlessSkipped() ([]oneShot, error) {
	if os.Getenv("BENCH_POLICY") == "0" {
		fmt.Println("\n(network policy figures skipped: BENCH_POLICY=0)")
		return nil, nil
	}
	return b.measurePolicy()
}

// measurePolicy prices the network policy: `vm run --rm -- true` under
// the default, internet, against open (no filtering but anti-spoofing),
// alternating which goes first, both restored from the warm template
// measureWarm made; and the nftables rules and set elements one VM adds
// to banger's tables under each policy, as counted in the namespace.
func (b *vmBench) measurePolicy() ([]oneShot, error) {
	// Not counted: a restore after a few idle seconds can take a second
	// longer than the next one, and round 0 starts with internet.
	b.logf("vm run --rm, warm, --network open, not counted")
	if _, _, err := b.timedCLI(nil, "vm", "run", "--rm", "--network", "open", "--name", "net-warmup", "--", "true"); err != nil {
		return nil, err
	}
	var internet, open samples
	for r := 0; r < max(b.rounds, policyRounds); r++ {
		order := []string{"internet", "open"}
		if r%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, policy := range order {
			name := fmt.Sprintf("net-%s-%d", policy, r)
			total, _, err := b.timedCLI(nil, "vm", "run", "--rm", "--network", policy, "--name", name, "--", "true")
			if err != nil {
				return nil, err
			}
			if policy == "internet" {
				internet = append(internet, total)
			} else {
				open = append(open, total)
			}
		}
	}
	rows := []oneShot{
		{name: "baseline: vm run --rm -- true, warm, --network open", value: open.String()},
		{name: "vm run --rm -- true, warm, --network internet", value: internet.String()},
		fastHalfRatioRow("vm run --rm -- true: internet / open, faster half of each", internet, open, 1.05),
	}
	for _, policy := range []string{"internet", "allow=10.1.2.0/24,example.com:443"} {
		row, err := b.rulesOf(policy)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// fastHalfMean is the mean of the faster half of s (the middle sample
// included when their number is odd). Load from elsewhere only ever adds
// time to a run, so the slower runs say more about the machine than
// about what is measured; a cost paid on every run still shows in full,
// one paid on some runs only in part.
func (s samples) fastHalfMean() time.Duration {
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	half := sorted[:(len(sorted)+1)/2]
	var sum time.Duration
	for _, d := range half {
		sum += d
	}
	return sum / time.Duration(len(half))
}

// fastHalfRatioRow compares the faster halves of a and b against a
// target ratio.
func fastHalfRatioRow(name string, a, b samples, target float64) oneShot {
	r := float64(a.fastHalfMean()) / float64(b.fastHalfMean())
	return oneShot{name: name, value: fmt.Sprintf("%.2fx", r), target: verdict(r <= target, fmt.Sprintf("<= %.2fx", target))}
}

// rulesOf counts what one VM under policy adds to banger's nftables
// tables, beside what internal/network says it should.
func (b *vmBench) rulesOf(policy string) (oneShot, error) {
	p, err := network.ParsePolicy(policy)
	if err != nil {
		return oneShot{}, err
	}
	// A first VM brings up the bridge and the shared rules; the second
	// one's cost is the VM's own.
	if _, err := b.cli("vm", "create", "--name", "rules-base", "--network", policy); err != nil {
		return oneShot{}, err
	}
	defer b.cli("vm", "delete", "--force", "rules-base")
	rules0, elems0, err := b.nftCount()
	if err != nil {
		return oneShot{}, err
	}
	if _, err := b.cli("vm", "create", "--name", "rules-one", "--network", policy); err != nil {
		return oneShot{}, err
	}
	defer b.cli("vm", "delete", "--force", "rules-one")
	rules1, elems1, err := b.nftCount()
	if err != nil {
		return oneShot{}, err
	}
	return oneShot{
		name:  "nftables rules per VM, " + p.String(),
		value: fmt.Sprintf("%d rules, %d set elements (network.RulesPerVM: %d)", rules1-rules0, elems1-elems0, network.RulesPerVM(p)),
	}, nil
}

// nftCount counts the rules and set elements of banger's tables in the
// namespace, from `nft -j list ruleset`.
func (b *vmBench) nftCount() (rules, elems int, err error) {
	out, err := b.ns.command(context.Background(), "nft", "-j", "list", "ruleset").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("nft -j list ruleset: %w", err)
	}
	return countNft(out)
}

// countNft counts the rules and set or map elements of banger's tables in
// the output of `nft -j list ruleset`.
func countNft(out []byte) (rules, elems int, err error) {
	var doc struct {
		Nftables []map[string]struct {
			Table string            `json:"table"`
			Elem  []json.RawMessage `json:"elem"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return 0, 0, fmt.Errorf("reading nft's JSON: %w", err)
	}
	for _, obj := range doc.Nftables {
		if r, ok := obj["rule"]; ok && strings.HasPrefix(r.Table, "banger") {
			rules++
		}
		if s, ok := obj["set"]; ok && strings.HasPrefix(s.Table, "banger") {
			elems += len(s.Elem)
		}
		if s, ok := obj["map"]; ok && strings.HasPrefix(s.Table, "banger") {
			elems += len(s.Elem)
		}
	}
	return rules, elems, nil
}
