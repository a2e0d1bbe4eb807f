package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// webServer serves /root/www on guest port 8000 and answers GET
// /hello.txt with "hello from the guest": with python3 where the image
// has it, else with Perl (which every Debian has).
const webServer = `mkdir -p /root/www && echo 'hello from the guest' > /root/www/hello.txt
command -v python3 >/dev/null && exec python3 -m http.server 8000 --directory /root/www
exec perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 8000, Listen => 5, ReuseAddr => 1) or die $!;
while ($c = $s->accept) { while (<$c>) { last if /^\r?\n$/ } print $c "HTTP/1.0 200 OK\r\n\r\nhello from the guest\n"; close $c }'`

// TestPortForward boots one VM with -p 18080:8000, serves HTTP in it and
// fetches it on the namespace's loopback; then adds a forward to the
// running VM, removes it, and checks that stop closes the forwards and
// start brings them back.
func TestPortForward(t *testing.T) {
	_, n := goldenVMNet(t, "")
	n.must(t, "vm", "create", "--name", "box", "--vcpu", "2", "--memory", "1024", "--disk-size", "2G", "-p", "18080:8000")
	n.must(t, "session", "start", "box", "--name", "web", "--", "sh", "-c", webServer)
	n.wantHello(t, "127.0.0.1:18080")
	if out := n.must(t, "vm", "list").stdout; !strings.Contains(out, "127.0.0.1:18080->8000/tcp") {
		t.Errorf("vm list has no PORTS entry for the forward:\n%s", out)
	}

	// A forward added to the running VM works at once, and goes with --rm.
	out := n.must(t, "vm", "port-forward", "box", "18081:8000").stdout
	if !strings.Contains(out, "127.0.0.1:18081->8000/tcp") {
		t.Errorf("vm port-forward printed %q; want the new forward", out)
	}
	n.wantHello(t, "127.0.0.1:18081")
	n.must(t, "vm", "port-forward", "box", "--rm", "18081")
	n.wantRefused(t, "127.0.0.1:18081")

	// A host port another program holds is named in the error.
	n.listen(t, "127.0.0.1:18082")
	r := n.run("vm", "port-forward", "box", "18082:8000")
	if r.code == 0 || !strings.Contains(r.stderr, "127.0.0.1:18082/tcp is already in use") {
		t.Errorf("forwarding a taken port: %s\nwant an error naming it", r)
	}

	// Stop closes the forwards; start opens them again.
	n.must(t, "vm", "stop", "box")
	n.wantRefused(t, "127.0.0.1:18080")
	n.must(t, "vm", "start", "box")
	n.must(t, "session", "start", "box", "--name", "web2", "--", "sh", "-c", webServer)
	n.wantHello(t, "127.0.0.1:18080")
	n.must(t, "vm", "delete", "--force", "box")
	n.wantRefused(t, "127.0.0.1:18080")
}

// wantHello fetches /hello.txt from addr in the namespace, waiting for
// the guest's server to come up.
func (n *vmNet) wantHello(t *testing.T, addr string) {
	t.Helper()
	eventually(t, 60*time.Second, "the guest's web server through "+addr, func() error {
		var c net.Conn
		var err error
		n.inside(t, func() error {
			c, err = net.DialTimeout("tcp", addr, 5*time.Second)
			return nil
		})
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /hello.txt HTTP/1.0\r\n\r\n")
		body, err := io.ReadAll(bufio.NewReader(c))
		if !strings.Contains(string(body), "hello from the guest") {
			return fmt.Errorf("read %q, %v", body, err)
		}
		return nil
	})
}

// wantRefused checks that nothing listens on addr in the namespace.
func (n *vmNet) wantRefused(t *testing.T, addr string) {
	t.Helper()
	var err error
	n.inside(t, func() error {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
			c.Close()
		}
		return nil
	})
	if err == nil {
		t.Errorf("%s still accepts connections", addr)
	}
}
