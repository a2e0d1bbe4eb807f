package vm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"banger/internal/agent/agentproto"
	"banger/internal/config"
	"banger/internal/vmm"
	"banger/internal/vmm/vmmtest"
)

// mtIdentity is the last identity VM name's guest was asked to take.
func (h *mtHarness) mtIdentity(name string) agentproto.Identity {
	h.t.Helper()
	ids := h.vmm.Identities(h.runDir(h.get(name)))
	if len(ids) == 0 {
		h.t.Fatalf("VM %s's guest was given no identity", name)
	}
	return ids[len(ids)-1]
}

// The first warm create of a size boots a template guest once and saves
// it; the VM, and the next of that size, are restored from it, each
// under its own name and address.
func TestManagerWarmCreateMakesAndUsesATemplate(t *testing.T) {
	h := mtManager(t)
	a := h.mustCreate("a", false)
	tmpls := h.m.Templates("deb")
	if len(tmpls) != 1 || tmpls[0].VCPU != 1 || tmpls[0].MemoryMiB != 256 || tmpls[0].Image != "deb" {
		t.Fatalf("Templates(deb) = %+v, want one of 1 vcpu and 256 MiB", tmpls)
	}
	if h.calls("SaveState", "") != 1 || h.calls("Start", "") != 1 {
		t.Errorf("VMM calls %q: want the template booted and saved once", h.vmm.Methods())
	}
	if h.calls("Start", "a") != 0 || h.calls("Restore", "a") != 1 {
		t.Errorf("VMM calls %q: want VM a restored, not booted", h.vmm.Methods())
	}
	if left, _ := os.ReadDir(h.dirs.TemplateRunBase()); len(left) != 0 {
		t.Errorf("the template guest's run dir is left: %v", mtNames(left))
	}

	b := h.mustCreate("b", false)
	if h.calls("SaveState", "") != 1 || h.calls("Restore", "b") != 1 || h.calls("Start", "") != 1 {
		t.Errorf("VMM calls %q: want b restored from the same template, nothing booted", h.vmm.Methods())
	}
	for _, v := range []struct{ name, ip, mac string }{{"a", a.IP, a.MAC}, {"b", b.IP, b.MAC}} {
		id := h.mtIdentity(v.name)
		if id.Hostname != v.name || id.MAC != v.mac || !strings.HasPrefix(id.Address, v.ip+"/") {
			t.Errorf("VM %s's guest took identity %+v, want its name, MAC %s and address %s", v.name, id, v.mac, v.ip)
		}
		if id.WorkDevice == "" || len(id.Entropy) == 0 {
			t.Errorf("VM %s's identity %+v lacks its work disk or entropy", v.name, id)
		}
		if got := h.vmm.Hostname(h.runDir(h.get(v.name))); got != v.name {
			t.Errorf("VM %s's guest reports hostname %q", v.name, got)
		}
	}
	if a.IP == b.IP || a.MAC == b.MAC {
		t.Errorf("two restored VMs share an address or MAC: %+v, %+v", a, b)
	}
	ida, idb := h.mtIdentity("a"), h.mtIdentity("b")
	if string(ida.Entropy) == string(idb.Entropy) {
		t.Error("two restored VMs got the same entropy")
	}
	if kh, err := os.ReadFile(h.dirs.KnownHosts("b")); err != nil || !strings.HasPrefix(string(kh), "b ssh-ed25519 ") {
		t.Errorf("restored VM's known_hosts = %q, %v", kh, err)
	}
}

// A VM of another size needs a template of its own; RemoveTemplates
// takes an image's templates away, and the next create makes one again.
func TestManagerTemplatesPerSize(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("small", false)
	big := h.request("big", false)
	big.MemoryMiB = 512
	if _, err := h.m.Create(h.ctx, big, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(h.m.Templates("deb")); n != 2 || h.calls("SaveState", "") != 2 {
		t.Fatalf("%d templates, %d saves: want one per size", n, h.calls("SaveState", ""))
	}
	if len(h.m.Templates("other")) != 0 {
		t.Error("Templates(other) lists deb's")
	}
	if err := h.m.RemoveTemplates("deb"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.m.Templates("")); n != 0 {
		t.Fatalf("%d templates after RemoveTemplates", n)
	}
	h.mustCreate("third", false)
	if h.calls("SaveState", "") != 3 {
		t.Errorf("the create after RemoveTemplates did not make the template again: %q", h.vmm.Methods())
	}
}

// WarmImage makes the template a first VM would, ahead of time.
func TestManagerWarmImage(t *testing.T) {
	h := mtManager(t)
	info, err := h.m.WarmImage(h.ctx, "deb", 1, 256, nil)
	if err != nil {
		t.Fatalf("WarmImage: %v", err)
	}
	if info.Image != "deb" || info.VMM != "qemu" || info.Key == "" {
		t.Errorf("WarmImage = %+v", info)
	}
	if _, err := h.m.WarmImage(h.ctx, "deb", 1, 64, nil); err == nil {
		t.Error("a template of 64 MiB was made")
	}
	h.assertNoLeaks()
	h.mustCreate("web", false)
	if h.calls("SaveState", "") != 1 || h.calls("Start", "") != 1 {
		t.Errorf("VMM calls %q: want the warmed template used", h.vmm.Methods())
	}
}

// A template whose restore fails is removed and the VM boots cold: it
// runs all the same, and the next create makes the template again.
func TestManagerWarmRestoreFailureBootsCold(t *testing.T) {
	h := mtManager(t)
	boom := errors.New("the saved state is damaged")
	h.vmm.FailOnce("Restore", boom)
	h.mustCreate("web", false)
	if h.calls("Restore", "web") != 1 || h.calls("Start", "web") != 1 {
		t.Errorf("VMM calls %q: want a failed restore, then a cold boot", h.vmm.Methods())
	}
	if n := len(h.m.Templates("")); n != 0 {
		t.Errorf("the template that failed to restore is kept (%d templates)", n)
	}
	if !h.logs.has("the saved state is damaged") {
		t.Error("no warning giving why the warm start failed")
	}
	if n := len(h.net.Taps()); n != 1 {
		t.Errorf("%d taps after a fallback, want the VM's one: %+v", n, h.net.Taps())
	}
	h.mustCreate("next", false)
	if h.calls("SaveState", "") != 2 || h.calls("Restore", "next") != 1 {
		t.Errorf("VMM calls %q: want the template made again and restored", h.vmm.Methods())
	}
}

// A restored guest that refuses its identity is killed and the VM boots
// cold instead.
func TestManagerWarmIdentifyFailureBootsCold(t *testing.T) {
	h := mtManager(t)
	h.vmm.FailOnce("Identify", errors.New("cannot set the hostname"))
	v := h.mustCreate("web", false)
	if h.calls("Restore", "web") != 1 || h.calls("Kill", "web") < 1 || h.calls("Start", "web") != 1 {
		t.Errorf("VMM calls %q: want the restored VM killed, then booted", h.vmm.Methods())
	}
	if got := h.vmm.Hostname(h.runDir(v)); got != "web" {
		t.Errorf("guest hostname = %q, want web", got)
	}
	if n := len(h.net.Taps()); n != 1 {
		t.Errorf("%d taps, want the VM's one: %+v", n, h.net.Taps())
	}
}

// A template guest that never gets ready is given up, and the VM boots
// cold; the half-made template is not kept.
func TestManagerTemplateThatNeverGetsReadyBootsCold(t *testing.T) {
	h := mtManager(t)
	t.Setenv("BANGER_READY_TIMEOUT", "300ms")
	h.vmm.SetGuest(vmmtest.GuestSilent)
	_, err := h.create("web", false)
	if err == nil {
		t.Fatal("a VM whose guest never answers was created without an error")
	}
	if len(h.m.Templates("")) != 0 {
		t.Errorf("a template of a guest that never got ready is kept: %+v", h.m.Templates(""))
	}
	if entries, _ := os.ReadDir(h.dirs.TemplatesDir()); len(entries) != 0 {
		t.Errorf("template dirs left: %v", mtNames(entries))
	}
	if h.calls("SaveState", "") != 0 || h.calls("Start", "web") != 1 {
		t.Errorf("VMM calls %q: want the template given up and the VM booted", h.vmm.Methods())
	}
	if left, _ := os.ReadDir(filepath.Join(h.dirs.Runtime, "template")); len(left) != 0 {
		t.Errorf("template run dirs left: %v", mtNames(left))
	}
}

// A guest without sshd reports no host keys. It boots cold fine; it must
// restore from a template as well.
func TestManagerWarmCreateWithoutSSHD(t *testing.T) {
	h := mtManager(t)
	h.drv.setKeys(false)
	h.mustCreate("a", false)
	if h.calls("Restore", "a") != 1 || h.calls("Start", "a") != 0 {
		t.Errorf("VMM calls %q: want a restored, not booted", h.vmm.Methods())
	}
	if len(h.m.Templates("deb")) != 1 {
		t.Error("the template was removed after its first use")
	}
}

// A template build that fails at any step is undone (its guest killed,
// its directory and run dir removed) and the VM boots cold; the next
// create tries the template again.
func TestManagerTemplateBuildFailureBootsCold(t *testing.T) {
	for _, method := range []string{"Start", "SaveState", "Kill"} {
		t.Run(method, func(t *testing.T) {
			h := mtManager(t)
			h.vmm.FailOnce(method, errors.New(method+" broke"))
			v := h.mustCreate("web", false)
			if h.calls("Start", "web") != 1 || h.calls("Restore", "") != 0 {
				t.Errorf("VMM calls %q: want the VM booted cold", h.vmm.Methods())
			}
			if n := len(h.m.Templates("")); n != 0 {
				t.Errorf("%d templates after a failed build", n)
			}
			if entries, _ := os.ReadDir(h.dirs.TemplatesDir()); len(entries) != 0 {
				t.Errorf("template dirs left: %v", mtNames(entries))
			}
			if left, _ := os.ReadDir(h.dirs.TemplateRunBase()); len(left) != 0 {
				t.Errorf("template run dirs left: %v", mtNames(left))
			}
			for _, c := range h.vmm.Calls() {
				if c.Spec.RunDir != h.runDir(v) && h.vmm.StateOf(c.Spec.RunDir) != vmm.StateStopped {
					t.Errorf("the template guest %s still runs", c.Spec.Name)
				}
			}
			if !h.logs.has(method + " broke") {
				t.Errorf("the warning does not give the cause %q", method+" broke")
			}
			h.mustCreate("next", false)
			if h.calls("Restore", "next") != 1 {
				t.Errorf("VMM calls %q: want the template made and used by the next create", h.vmm.Methods())
			}
		})
	}
}

// A restore whose tap cannot be made falls back to a cold boot, which
// makes it; no tap is left of the failed restore.
func TestManagerWarmNetworkFailureBootsCold(t *testing.T) {
	h := mtManager(t)
	if _, err := h.m.WarmImage(h.ctx, "deb", 1, 256, nil); err != nil {
		t.Fatal(err)
	}
	h.net.FailOnce("EnsureTap", errors.New("tap busy"))
	v := h.mustCreate("web", false)
	if h.calls("Restore", "web") != 0 || h.calls("Start", "web") != 1 {
		t.Errorf("VMM calls %q: want no restore without a tap, then a cold boot", h.vmm.Methods())
	}
	if taps := h.net.Taps(); len(taps) != 1 || taps[0].Name != v.Tap {
		t.Errorf("taps = %+v, want only the VM's", taps)
	}
}

// A QEMU template keeps its guest's RAM in a file of its own, written
// through while the template guest runs; every clone maps that one file
// privately, so the pages it does not write stay shared.
func TestManagerWarmClonesMapTheTemplatesMemory(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("a", false)
	h.mustCreate("b", false)
	var saved vmm.Spec
	restored := map[string]vmm.Spec{}
	for _, c := range h.vmm.Calls() {
		switch {
		case c.Method == "SaveState":
			saved = c.Spec
		case c.Method == "Restore":
			restored[c.Spec.Name] = c.Spec
		}
	}
	tmpl := h.m.Templates("deb")[0]
	want := filepath.Join(h.dirs.TemplatesDir(), tmpl.Key, tmpl.Memory)
	if tmpl.Memory == "" || saved.MemoryFile != want || !saved.MemoryShared {
		t.Fatalf("template saved with memory %q (shared %v), template says %q: want its RAM shared in %s", saved.MemoryFile, saved.MemoryShared, tmpl.Memory, want)
	}
	for _, name := range []string{"a", "b"} {
		if s := restored[name]; s.MemoryFile != want || s.MemoryShared {
			t.Errorf("VM %s restored with memory %q (shared %v); want the template's file %s, mapped privately", name, s.MemoryFile, s.MemoryShared, want)
		}
	}
	if err := os.Remove(want); err != nil {
		t.Fatal(err)
	}
	if n := len(h.m.Templates("deb")); n != 0 {
		t.Errorf("a template whose memory file is gone is still listed (%d): a clone would restore garbage", n)
	}
}

// Each restored guest is handed an ssh host key of its own, made by the
// host; a create for a caller that runs its command through the agent
// asks the guest not to wait for sshd, and only then.
func TestManagerWarmHostKeysAndAgentExec(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("a", false)
	req := h.request("b", false)
	req.AgentExec = true
	if _, err := h.m.Create(h.ctx, req, nil); err != nil {
		t.Fatalf("creating VM b for the agent's exec: %v", err)
	}
	h.assertRunning("b")
	ida, idb := h.mtIdentity("a"), h.mtIdentity("b")
	if ida.NoSSHWait || !idb.NoSSHWait {
		t.Errorf("NoSSHWait: a %v, b %v; want it only for the create that runs through the agent", ida.NoSSHWait, idb.NoSSHWait)
	}
	var pubs []string
	for _, id := range []agentproto.Identity{ida, idb} {
		signer, err := ssh.ParsePrivateKey(id.HostKey)
		if err != nil || signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
			t.Fatalf("host key sent to %s: %v; want an ed25519 key in OpenSSH form", id.Hostname, err)
		}
		pubs = append(pubs, string(signer.PublicKey().Marshal()))
	}
	if pubs[0] == pubs[1] {
		t.Error("two restored VMs were sent the same ssh host key")
	}
}

// A work disk that cannot be built fails a warm create, named, without a
// cold boot (which would need the same disk), and leaves nothing; the
// root disk copied meanwhile goes too.
func TestManagerWarmWorkDiskFailureDoesNotBootCold(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("a", false) // the template
	h.cfg.FileSync = []config.FileSync{{Host: filepath.Join(t.TempDir(), "missing"), Guest: "~/x"}}
	_, err := h.create("b", false)
	if err == nil || !strings.Contains(err.Error(), "preparing disks") {
		t.Fatalf("Create = %v; want a failure preparing disks", err)
	}
	if h.calls("Start", "b") != 0 || h.calls("Restore", "b") != 0 {
		t.Errorf("VMM calls %q: VM b was started though its work disk could not be made", h.vmm.Methods())
	}
	h.assertGone("b")
	if left, _ := os.ReadDir(h.dirs.VMDir("b")); len(left) != 0 {
		t.Errorf("VM b's disks are left: %v", mtNames(left))
	}
}
