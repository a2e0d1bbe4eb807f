package kubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"banger/internal/doctor"
)

// Doctor runs `banger doctor` and returns its results.
type Doctor func(ctx context.Context) ([]doctor.Result, error)

// BangerDoctor runs `BANGER doctor --json`, BANGER being the banger
// command. Its exit status says only whether a check failed, which the
// results say too.
func BangerDoctor(banger string) Doctor {
	return func(ctx context.Context) ([]doctor.Result, error) {
		var out, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, banger, "doctor", "--json")
		cmd.Stdout, cmd.Stderr = &out, &stderr
		runErr := cmd.Run()
		var results []doctor.Result
		if err := json.Unmarshal(out.Bytes(), &results); err != nil {
			return nil, fmt.Errorf("running %s doctor: %v: %s", banger, runErr, strings.TrimSpace(stderr.String()))
		}
		return results, nil
	}
}

// Reasons of the node conditions set from doctor's checks.
const (
	reasonDoctorOK     = "BangerDoctorPassed"
	reasonDoctorFailed = "BangerDoctorFailed"
)

// conditions turns doctor's results into node conditions: Ready unless a
// check fails, disk pressure when the disk check is not ok.
func conditions(results []doctor.Result, err error, now time.Time) []corev1.NodeCondition {
	t := metav1.NewTime(now)
	cond := func(typ corev1.NodeConditionType, ok bool, reason, msg string) corev1.NodeCondition {
		st := corev1.ConditionFalse
		if ok {
			st = corev1.ConditionTrue
		}
		return corev1.NodeCondition{Type: typ, Status: st, Reason: reason, Message: msg, LastHeartbeatTime: t, LastTransitionTime: t}
	}
	if err != nil {
		return []corev1.NodeCondition{cond(corev1.NodeReady, false, reasonDoctorFailed, err.Error())}
	}
	var failed []string
	disk := doctor.Result{Status: doctor.Pass}
	for _, r := range results {
		if r.Status == doctor.Fail {
			failed = append(failed, r.Name+": "+r.Summary)
		}
		if r.Name == "disk" {
			disk = r
		}
	}
	ready := cond(corev1.NodeReady, true, reasonDoctorOK, "banger doctor: every check passed or warned")
	if len(failed) > 0 {
		ready = cond(corev1.NodeReady, false, reasonDoctorFailed, "banger doctor: "+strings.Join(failed, "; "))
	}
	return []corev1.NodeCondition{
		ready,
		cond(corev1.NodeDiskPressure, disk.Status != doctor.Pass, "BangerDoctorDisk", disk.Summary),
		cond(corev1.NodeMemoryPressure, false, "BangerDoctor", "not measured"),
		cond(corev1.NodePIDPressure, false, "BangerDoctor", "not measured"),
		cond(corev1.NodeNetworkUnavailable, false, "BangerDoctor", "each pod's VM has its own network"),
	}
}

// driverAndAccel reads the VMM and the acceleration doctor found:
// Firecracker when the config asks for it, or when vmm = auto finds it
// installed and KVM usable; QEMU otherwise. KVM when its check passed,
// else TCG emulation.
func driverAndAccel(results []doctor.Result, vmm string) (string, string) {
	kvm, fc := false, false
	for _, r := range results {
		switch {
		case r.Name == "kvm" && r.Status == doctor.Pass:
			kvm = true
		case r.Name == "firecracker" && r.Status == doctor.Pass:
			fc = !strings.HasPrefix(r.Summary, "not installed")
		}
	}
	driver, accel := "qemu", "tcg"
	if kvm {
		accel = "kvm"
	}
	if vmm == "firecracker" || (vmm != "qemu" && fc && kvm) {
		driver = "firecracker"
	}
	return driver, accel
}

// nodeStatus is virtual-kubelet's NodeProvider: it runs doctor every
// interval and reports the node's conditions.
type nodeStatus struct {
	doctor   Doctor
	interval time.Duration

	mu   sync.Mutex
	node *corev1.Node
}

// Ping answers the node controller's health check.
func (n *nodeStatus) Ping(ctx context.Context) error { return ctx.Err() }

// NotifyNodeStatus reports new conditions after each doctor run, until
// ctx ends.
func (n *nodeStatus) NotifyNodeStatus(ctx context.Context, cb func(*corev1.Node)) {
	go func() {
		t := time.NewTicker(n.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			results, err := n.doctor(ctx)
			n.mu.Lock()
			n.node.Status.Conditions = conditions(results, err, time.Now())
			node := n.node.DeepCopy()
			n.mu.Unlock()
			cb(node)
		}
	}()
}
