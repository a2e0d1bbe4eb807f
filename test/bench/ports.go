package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"banger/internal/api"
)

const (
	// portBytes are sent through each connection of the port figure.
	portBytes  = 64 << 20
	portRounds = 3
	portGuest  = 9000
	// portTarget: a forwarded port should carry at least this share of
	// a direct connection's throughput.
	portTarget = 0.8
)

// portSink counts what it reads on guest port 9000 and, at the client's
// end of input, answers with the count. Perl is in every Debian image.
const portSink = `exec perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 9000, Listen => 5, ReuseAddr => 1) or die $!;
while ($c = $s->accept) { $n = 0; while (($r = sysread($c, $b, 1 << 16)) > 0) { $n += $r } print $c "$n\n"; close $c }'`

// benchPorts measures the throughput of a port bangerd forwards from the
// namespace's loopback to running VM vm, beside a direct connection to
// the guest's address, portRounds times each, alternating.
func (b *vmBench) benchPorts(cli func(args ...string) *exec.Cmd, vm string) error {
	if os.Getenv("BENCH_PORTS") == "0" {
		fmt.Println("\n(forwarded port figure skipped: BENCH_PORTS=0)")
		return nil
	}
	if out, err := cli("session", "start", vm, "--name", "sink", "--", "sh", "-c", portSink).CombinedOutput(); err != nil {
		return fmt.Errorf("starting the guest's sink: %v: %s", err, out)
	}
	v, err := b.api.AddPorts(b.ctx, vm, []api.PortForward{{GuestPort: portGuest}})
	if err != nil {
		return fmt.Errorf("forwarding a port to %s: %w", vm, err)
	}
	fwd := "127.0.0.1:" + strconv.Itoa(v.Ports[len(v.Ports)-1].Bound)
	direct := net.JoinHostPort(v.IP, strconv.Itoa(portGuest))
	var fwdTimes, directTimes []time.Duration
	for i := range portRounds + 1 {
		for _, t := range []struct {
			addr  string
			times *[]time.Duration
		}{{direct, &directTimes}, {fwd, &fwdTimes}} {
			d, err := b.ns.send(t.addr, portBytes)
			if err != nil {
				return fmt.Errorf("sending %d MiB to %s: %w", portBytes>>20, t.addr, err)
			}
			if i > 0 { // the first round warms up, and waits for the sink
				*t.times = append(*t.times, d)
			}
		}
	}
	return reportPorts(fwdTimes, directTimes)
}

// send connects to addr from the namespace, writes n bytes, and waits for
// the sink's count, retrying the connection while the sink starts.
func (n *netNS) send(addr string, total int) (time.Duration, error) {
	var c net.Conn
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err = n.dial(addr, 5*time.Second); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	buf := make([]byte, 1<<20)
	start := time.Now()
	for sent := 0; sent < total; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			return 0, err
		}
	}
	c.(*net.TCPConn).CloseWrite()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && err != io.EOF {
		return 0, err
	}
	if got := strings.TrimSpace(line); got != strconv.Itoa(total) {
		return 0, fmt.Errorf("the sink counted %q bytes, want %d (is it listening yet?)", got, total)
	}
	return time.Since(start), nil
}

func reportPorts(fwdTimes, directTimes []time.Duration) error {
	slices.Sort(fwdTimes)
	slices.Sort(directTimes)
	fwd, direct := fwdTimes[len(fwdTimes)/2], directTimes[len(directTimes)/2]
	share := float64(direct) / float64(fwd)
	verdict := "met"
	if share < portTarget {
		verdict = "MISSED"
	}
	rate := func(d time.Duration) string {
		return fmt.Sprintf("%.1f MiB/s", float64(portBytes)/(1<<20)/d.Seconds())
	}
	fmt.Printf("\nforwarded port: %d MiB over TCP into a guest, median of %d rounds\n", portBytes>>20, portRounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\ttime\trate\ttarget")
	fmt.Fprintf(tw, "127.0.0.1:PORT forwarded by bangerd\t%s\t%s\t>= %.0f%% of direct (%.0f%%): %s\n", secs(fwd), rate(fwd), portTarget*100, share*100, verdict)
	fmt.Fprintf(tw, "baseline: GUEST_IP:PORT direct\t%s\t%s\t\n", secs(direct), rate(direct))
	return tw.Flush()
}
