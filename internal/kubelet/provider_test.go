package kubelet

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	vkapi "github.com/virtual-kubelet/virtual-kubelet/node/api"

	"banger/internal/eventually"
	"banger/internal/oci"
)

func TestJobPodFailsWithItsExitCodeAndKeepsItsOutput(t *testing.T) {
	ctx := context.Background()
	w := newWatched(t, newFakeDaemon())
	pod := testPod("job-1", corev1.RestartPolicyNever, "sh", "-c", "echo hi; exit 3")
	if err := w.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	st := w.await(t, pod, phase(corev1.PodRunning))
	vm := vmName(pod)
	if st.PodIP == "" || st.ContainerStatuses[0].State.Running == nil || st.ContainerStatuses[0].State.Running.StartedAt.IsZero() {
		t.Fatalf("running status lacks the pod IP or startedAt: %+v", st)
	}
	if got := w.d.called("start "); len(got) != 1 || !strings.Contains(got[0], "sh -c echo hi; exit 3") {
		t.Fatalf("sessions started: %q", got)
	}
	w.d.exit(vm, 3, "hi\n")
	st = w.await(t, pod, phase(corev1.PodFailed))
	term := st.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Fatalf("terminated state = %+v, want exit code 3, reason Error", term)
	}
	if _, err := w.d.GetVM(ctx, vm); err == nil {
		t.Errorf("VM %s still exists after its pod ended", vm)
	}
	logs, err := w.GetContainerLogs(ctx, pod.Namespace, pod.Name, "main", vkapi.ContainerLogOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	if b, _ := io.ReadAll(logs); string(b) != "hi\n" {
		t.Errorf("logs = %q, want %q", b, "hi\n")
	}
}

func TestSucceededPodOnExitZero(t *testing.T) {
	w := newWatched(t, newFakeDaemon())
	pod := testPod("ok", corev1.RestartPolicyOnFailure, "true")
	if err := w.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	w.d.exit(vmName(pod), 0, "")
	st := w.await(t, pod, phase(corev1.PodSucceeded))
	if r := st.ContainerStatuses[0].State.Terminated.Reason; r != "Completed" {
		t.Errorf("reason = %q, want Completed", r)
	}
}

func TestAlwaysRestartsTheCommandInTheSameVM(t *testing.T) {
	w := newWatched(t, newFakeDaemon())
	pod := testPod("web", corev1.RestartPolicyAlways, "serve")
	if err := w.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	w.d.exit(vmName(pod), 1, "")
	st := w.await(t, pod, func(st corev1.PodStatus) bool {
		return st.ContainerStatuses[0].RestartCount == 1 && st.ContainerStatuses[0].State.Running != nil
	})
	if last := st.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ExitCode != 1 {
		t.Errorf("last termination = %+v, want exit code 1", last)
	}
	if n := len(w.d.called("create ")); n != 1 {
		t.Errorf("%d VMs made, want the one VM reused", n)
	}
}

func TestRefusedPodFailsAtOnceNamingTheField(t *testing.T) {
	w := newWatched(t, newFakeDaemon())
	pod := testPod("two", corev1.RestartPolicyAlways, "a")
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "side", Image: "x"})
	if err := w.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	st := w.await(t, pod, phase(corev1.PodFailed))
	if st.Reason != ReasonUnsupported || !strings.Contains(st.Message, "spec.containers") {
		t.Errorf("status reason %q message %q, want %s naming spec.containers", st.Reason, st.Message, ReasonUnsupported)
	}
	if got := w.d.called("create "); len(got) > 0 {
		t.Errorf("a refused pod made a VM: %q", got)
	}
}

func TestOCIImageIsPulledOnceAndItsConfigRuns(t *testing.T) {
	ctx := context.Background()
	d := newFakeDaemon()
	w := newWatched(t, d)
	pod := testPod("img", corev1.RestartPolicyNever)
	pod.Spec.Containers[0].Args = []string{"--port", "80"}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "ci"}}
	// The guest's flattened image says how to run it; the fake VM has it
	// as soon as it exists.
	d.files[vmName(pod)+":"+ociConfigPath] = guestFile{Data: []byte(`{"entrypoint":["/bin/server"],"cmd":["--default"],"env":["PATH=/bin"],"workdir":"/srv"}`)}
	if err := w.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	want := "start " + vmName(pod) + " /bin/server --port 80 dir=/srv env=PATH=/bin,MODE=ci"
	if got := d.called("start "); len(got) != 1 || got[0] != want {
		t.Errorf("started %q, want %q", got, want)
	}
	pod2 := testPod("img2", corev1.RestartPolicyNever, "true")
	pod2.UID = "11111111-2222-3333-4444-555555555555"
	if err := w.CreatePod(ctx, pod2); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod2, phase(corev1.PodRunning))
	if got := d.called("pull "); len(got) != 1 || got[0] != "pull oci://busybox:1.36" {
		t.Errorf("pulls = %q, want one of oci://busybox:1.36", got)
	}
}

func TestBangerImageAnnotationSkipsThePull(t *testing.T) {
	d := newFakeDaemon()
	w := newWatched(t, d)
	pod := testPod("deb", corev1.RestartPolicyNever, "true")
	pod.Annotations = map[string]string{AnnotationImage: "debian-bookworm"}
	if err := w.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	if got := d.called("pull "); len(got) > 0 {
		t.Errorf("pulled %q for a local banger image", got)
	}
	if got := d.called("create "); len(got) != 1 || !strings.Contains(got[0], "image=debian-bookworm") {
		t.Errorf("created %q, want the debian-bookworm image", got)
	}
}

func TestDeleteTermsThenKillsThenDeletesTheVMThenThePod(t *testing.T) {
	ctx := context.Background()
	d := newFakeDaemon()
	d.termExits = false // the command ignores TERM
	w := newWatched(t, d)
	pod := testPod("stubborn", corev1.RestartPolicyAlways, "sleep", "1d")
	if err := w.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	vm := vmName(pod)
	before := len(d.called("kill " + vm))
	grace := int64(0)
	pod.DeletionGracePeriodSeconds = &grace
	if err := w.DeletePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, func() bool {
		_, err := w.GetPod(ctx, pod.Namespace, pod.Name)
		return err != nil // forgotten once its VM is gone
	})
	if _, err := d.GetVM(ctx, vm); err == nil {
		t.Errorf("VM %s survived its pod's deletion", vm)
	}
	if got := d.called("kill " + vm)[before:]; strings.Join(got, ",") != "kill "+vm+" TERM,kill "+vm+" KILL" {
		t.Errorf("signals = %q, want TERM then KILL", got)
	}
	// virtual-kubelet alone would leave the pod in the cluster until its
	// grace period ends, however soon its VM went: kubectl delete waits.
	eventually.True(t, func() bool { return len(d.called("remove pod ")) > 0 })
	calls := strings.Join(d.called(""), "\n")
	want := fmt.Sprintf("remove pod %s/%s uid=%s", pod.Namespace, pod.Name, pod.UID)
	if strings.Count(calls, want) != 1 || strings.Index(calls, want) < strings.LastIndex(calls, "delete "+vm) {
		t.Errorf("calls:\n%s\nwant %q once, after the VM's deletion", calls, want)
	}
}

func TestExecRunsInThePodsVM(t *testing.T) {
	ctx := context.Background()
	d := newFakeDaemon()
	d.execOut, d.execCode = "pod-host\n", 0
	w := newWatched(t, d)
	pod := testPod("exec", corev1.RestartPolicyAlways, "serve")
	if err := w.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	out := &buffer{}
	if err := w.RunInContainer(ctx, "ci", "exec", "main", []string{"hostname"}, attachIO{out: out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "pod-host\n" {
		t.Errorf("stdout = %q", out.String())
	}
	d.execCode = 7
	err := w.RunInContainer(ctx, "ci", "exec", "main", []string{"false"}, attachIO{out: &buffer{}})
	if ee, ok := err.(exitError); !ok || ee.ExitStatus() != 7 {
		t.Errorf("err = %v, want exit status 7", err)
	}
}

func TestOCIConfigPathIsTheFlattenersOwn(t *testing.T) {
	if ociConfigPath != oci.ConfigPath {
		t.Fatalf("ociConfigPath = %q, oci.ConfigPath = %q", ociConfigPath, oci.ConfigPath)
	}
}

// buffer is a WriteCloser.
type buffer struct{ strings.Builder }

func (b *buffer) Close() error { return nil }

// attachIO is an exec's streams with no input.
type attachIO struct{ out *buffer }

func (a attachIO) Stdin() io.Reader              { return nil }
func (a attachIO) Stdout() io.WriteCloser        { return a.out }
func (a attachIO) Stderr() io.WriteCloser        { return a.out }
func (a attachIO) TTY() bool                     { return false }
func (a attachIO) Resize() <-chan vkapi.TermSize { return nil }

func TestActiveDeadlineStopsThePod(t *testing.T) {
	d := newFakeDaemon()
	w := newWatched(t, d)
	pod := testPod("slow", corev1.RestartPolicyAlways, "sleep", "1d")
	zero := int64(0)
	pod.Spec.ActiveDeadlineSeconds, pod.Spec.TerminationGracePeriodSeconds = &zero, &zero
	if err := w.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	st := w.await(t, pod, phase(corev1.PodFailed))
	if st.Reason != "DeadlineExceeded" {
		t.Errorf("reason = %q, want DeadlineExceeded", st.Reason)
	}
	if got := d.called("kill " + vmName(pod) + " TERM"); len(got) != 1 {
		t.Errorf("TERM sent %d times, want once", len(got))
	}
}

func TestPortForwardReachesThePodsIP(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = io.WriteString(c, "hello from the guest")
			c.Close()
		}
	}()
	w := newWatched(t, newFakeDaemon())
	pod := testPod("fwd", corev1.RestartPolicyAlways, "serve")
	if err := w.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	w.await(t, pod, phase(corev1.PodRunning))
	w.mu.Lock()
	w.pods["ci/fwd"].pod.Status.PodIP = "127.0.0.1" // where the fake guest listens
	w.mu.Unlock()
	port := int32(l.Addr().(*net.TCPAddr).Port)
	here, there := net.Pipe()
	go func() { _ = w.PortForward(ctx, "ci", "fwd", port, there) }()
	b, _ := io.ReadAll(here)
	if string(b) != "hello from the guest" {
		t.Errorf("forwarded %q", b)
	}
}
