package e2e

import (
	"banger/internal/e2etest"
	"bytes"
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// webAddr is where the namespace's bangerd serves the web UI; the
// namespace has a loopback of its own, so the port is always free.
const webAddr = "127.0.0.1:7777"

// TestWebUI drives the web UI in a real browser: headless Chromium, run in
// the test's network namespace, reaches bangerd's web UI over that
// namespace's loopback. The browser creates one VM from the form, stops
// and starts it by clicking, follows its console, and a page of another
// origin fails to stop it.
func TestWebUI(t *testing.T) {
	chromium := chromiumPath(t)
	_, n := goldenVMNet(t, fmt.Sprintf("web_listen_addr = %q\n", webAddr))
	// The first command starts the namespace's bangerd, and with it the
	// web UI, which listens before the API socket answers.
	n.must(t, "vm", "list")

	b := newBrowser(t, n, chromium)
	ui := "http://" + webAddr

	// Create from the list's form: the VM's page shows the create pending,
	// then done.
	start := time.Now()
	var pending, opText string
	b.run(t, 4*time.Minute, "create a VM from the form",
		chromedp.Navigate(ui+"/"),
		settled(chromedp.WaitVisible(chromedp.CSS(`#create`))),
		chromedp.SetValue(chromedp.CSS(`#create input[name="name"]`), "webbox"),
		chromedp.SetValue(chromedp.CSS(`#create input[name="vcpu"]`), "2"),
		chromedp.SetValue(chromedp.CSS(`#create input[name="memory_mib"]`), "1024"),
		chromedp.SetValue(chromedp.CSS(`#create input[name="disk_size"]`), "2G"),
		chromedp.Click(chromedp.CSS(`#create button`)),
		settled(chromedp.WaitVisible(chromedp.CSS(`#op[data-pending="true"]`))),
		settled(into(chromedp.Text(chromedp.CSS(`#op`)), &pending)),
	)
	b.screenshot(t, "vm-creating.png")
	b.run(t, 4*time.Minute, "wait for the create",
		settled(chromedp.WaitVisible(chromedp.CSS(`#op.op-done, #op.op-failed`))),
		settled(into(chromedp.Text(chromedp.CSS(`#op`)), &opText)),
	)
	t.Logf("create from the browser to ready: %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(pending, "create in progress") || !strings.Contains(opText, "create finished") {
		t.Fatalf("create from the browser: pending %q, then %q%s", pending, opText, n.consoles())
	}

	// The list shows the VM running, with its driver, address and spec.
	vm := n.show(t, "webbox")
	if vm.State != "running" || vm.VCPU != 2 || vm.MemoryMiB != 1024 {
		t.Fatalf("VM created in the browser: %+v", vm)
	}
	var row string
	b.run(t, 30*time.Second, "load the VM list",
		chromedp.Navigate(ui+"/"),
		settled(chromedp.WaitVisible(chromedp.CSS(`#vm-webbox [data-state="running"]`))),
		settled(into(chromedp.Text(chromedp.CSS(`#vm-webbox`)), &row)),
	)
	for _, want := range []string{"webbox", "qemu", vm.IP, "2 vcpu · 1024 MiB · 2G disk"} {
		if !strings.Contains(row, want) {
			t.Errorf("VM list row lacks %q: %q", want, row)
		}
	}
	b.screenshot(t, "vm-list.png")
	b.run(t, 30*time.Second, "list images and kernels",
		chromedp.Click(chromedp.CSS(`nav a[href="/images"]`)),
		settled(chromedp.WaitVisible(chromedp.CSS(`[data-image="debian-bookworm"]`))),
		chromedp.Click(chromedp.CSS(`nav a[href="/kernels"]`)),
		settled(chromedp.WaitVisible(chromedp.CSS(`[data-kernel="debian-6.1-cloud"]`))),
		chromedp.Navigate(ui+"/"),
		settled(chromedp.WaitVisible(chromedp.CSS(`#vm-webbox`))),
	)

	// Stop by clicking; the list follows the VM to stopped.
	b.run(t, 2*time.Minute, "stop the VM from the list",
		chromedp.Click(chromedp.CSS(`#vm-webbox button.stop`)),
		settled(chromedp.WaitVisible(chromedp.CSS(`#vm-webbox [data-state="stopped"]`))),
	)
	if v := n.show(t, "webbox"); v.State != "stopped" {
		t.Fatalf("after Stop in the browser, the CLI shows %+v", v)
	}

	// Start from the VM's page: it shows the start pending, then done,
	// and its console follows the boot.
	start = time.Now()
	b.run(t, 4*time.Minute, "start the VM from its page",
		chromedp.Click(chromedp.CSS(`a[href="/vms/webbox"]`)),
		settled(chromedp.WaitVisible(chromedp.CSS(`#start`))),
		chromedp.Click(chromedp.CSS(`#start`)),
		settled(chromedp.Poll[chromedp.Void](`/start (finished|failed)/.test(document.getElementById("op")?.textContent ?? "")`, chromedp.WithPollingTimeout(0))),
		settled(into(chromedp.Text(chromedp.CSS(`#op`)), &opText)),
	)
	t.Logf("start from the browser to ready: %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(opText, "start finished") {
		t.Fatalf("start from the browser: %q%s", opText, n.consoles())
	}
	if v := n.show(t, "webbox"); v.State != "running" || v.IP == "" {
		t.Fatalf("after Start in the browser, the CLI shows %+v", v)
	}
	var sessions string
	b.run(t, 30*time.Second, "read the console and sessions",
		settled(chromedp.WaitVisible(chromedp.CSS(`#vm-state [data-state="running"]`))),
		settled(chromedp.Poll[chromedp.Void](`document.getElementById("console").textContent.includes("Linux version")`, chromedp.WithPollingTimeout(0))),
		settled(into(chromedp.Text(chromedp.CSS(`#sessions`)), &sessions)),
	)
	if !strings.Contains(sessions, "Sessions") {
		t.Errorf("VM page has no sessions panel: %q", sessions)
	}
	b.screenshot(t, "vm-page.png")

	// A page of another origin posts the stop form, token included: the
	// UI refuses it and the VM keeps running.
	var tok chromedp.AttributeResult
	b.run(t, 10*time.Second, "read the form token",
		into(chromedp.AttributeValue(chromedp.CSS(`meta[name="csrf-token"]`), "content"), &tok))
	token := tok.Value
	if !tok.Exists || token == "" {
		t.Fatal("the VM page has no CSRF token")
	}
	evil := n.listen(t, "127.0.0.1:0")
	go http.Serve(evil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/vms/webbox/stop"><input type="hidden" name="csrf" value="%s"></form><script>document.getElementById("f").submit()</script>`, ui, html.EscapeString(token))
	}))
	var refusal string
	evilURL := fmt.Sprintf("http://localhost:%d/", evil.Addr().(*net.TCPAddr).Port)
	b.run(t, 30*time.Second, "post from another origin",
		chromedp.Navigate(evilURL),
		settled(chromedp.WaitVisible(chromedp.CSS(`#error`))),
		settled(into(chromedp.Text(chromedp.CSS(`#error`)), &refusal)),
	)
	if !strings.Contains(refusal, "cross-origin request refused") {
		t.Errorf("cross-origin stop: the page says %q", refusal)
	}
	b.screenshot(t, "cross-origin.png")
	b.run(t, 30*time.Second, "check the VM still runs",
		chromedp.Navigate(ui+"/vms/webbox"),
		settled(into(chromedp.Text(chromedp.CSS(`#op`)), &opText)),
	)
	if !strings.Contains(opText, "start finished") {
		t.Errorf("after the cross-origin post the VM's latest operation is: %q", opText)
	}
	if v := n.show(t, "webbox"); v.State != "running" {
		t.Errorf("after the cross-origin post the VM is %s", v.State)
	}
	n.must(t, "vm", "delete", "--force", "webbox")
}

// chromiumPath finds Debian's chromium. Without it the test skips, unless
// BANGER_E2E=1 asks for the end-to-end tests, where it fails: CI installs
// it (.ci/run).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if e2etest.Enabled() {
		t.Fatal("chromium is not installed, and BANGER_E2E=1 asks for the browser test: `apt-get install chromium`")
	}
	t.Skip("chromium is not installed: `apt-get install chromium` and set BANGER_E2E=1 to run the browser test")
	return ""
}

// browser is a headless Chromium in the test's namespace.
type browser struct {
	ctx       context.Context
	artifacts string // where screenshots go
}

// newBrowser starts Chromium through `ip netns exec`, so it shares the
// namespace's loopback with bangerd. chromedp talks to it over a pipe,
// which needs no network.
func newBrowser(t *testing.T, n *vmNet, chromium string) *browser {
	t.Helper()
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
		chromedp.CombinedOutput(out),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.Args = append([]string{"ip", "netns", "exec", n.name, chromium}, cmd.Args[1:]...)
			cmd.Path = ip
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		}),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium's output:\n%.4000s", out.String())
		}
	})
	dir := os.Getenv("BANGER_E2E_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	// The first call starts the browser, which lives as long as that
	// call's context: it gets no deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v\n%.4000s", err, out.String())
	}
	return &browser{ctx: ctx, artifacts: dir}
}

// into turns an action that reads a value into a step that stores it.
func into[T any](a chromedp.Action[T], dst *T) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}

// settled runs a step that only reads the page, again while it fails
// because a navigation (a form's POST and redirect) replaced the page it
// was reading: the step then simply reads the new page.
func settled(a chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			v, err := a(ctx, t)
			if err == nil || !navigatedAway(err) {
				return v, err
			}
			select {
			case <-ctx.Done():
				return v, err
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// navigatedAway tells the errors of a read cut short by a navigation.
func navigatedAway(err error) bool {
	for _, s := range []string{"Cannot find context with specified id", "Inspected target navigated or closed", "Execution context was destroyed"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// run runs browser actions, failing the test when they do not finish
// within limit.
func (b *browser) run(t *testing.T, limit time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		pctx, pcancel := context.WithTimeout(b.ctx, 5*time.Second)
		page, _ := chromedp.Run(pctx, chromedp.OuterHTML(chromedp.CSS("body")))
		pcancel()
		b.screenshot(t, "failed.png")
		t.Fatalf("browser: %s: %v\npage:\n%.3000s", what, err, page)
	}
}

// screenshot saves the browser's viewport into the artifacts dir
// (BANGER_E2E_ARTIFACTS, else a temp dir) and logs where.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(b.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b.artifacts, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
