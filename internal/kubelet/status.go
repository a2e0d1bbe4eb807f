package kubelet

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"banger/internal/api"
)

// Reasons this node gives in pod and container statuses.
const (
	reasonCreating   = "ContainerCreating"
	reasonPullFailed = "ErrImagePull"
	reasonBackOff    = "CrashLoopBackOff"
	reasonCompleted  = "Completed"
	reasonError      = "Error"
	reasonVMFailed   = "VMFailed"
	reasonVMGone     = "VMGone"
	reasonConfig     = "CreateContainerConfigError"
	reasonDeadline   = "DeadlineExceeded"
)

// containerID names a pod's command the way statuses show it.
func containerID(vm string) string { return "banger://" + vm + "/" + sessionName }

// baseStatus is a fresh status: scheduled here, not started.
func baseStatus(pod *corev1.Pod, hostIP string, now time.Time) corev1.PodStatus {
	t := metav1.NewTime(now)
	st := corev1.PodStatus{
		Phase:     corev1.PodPending,
		HostIP:    hostIP,
		StartTime: &t,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: t},
			{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, LastTransitionTime: t},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: t},
		},
	}
	if hostIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: hostIP}}
	}
	if len(pod.Spec.Containers) > 0 {
		c := pod.Spec.Containers[0]
		st.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image}}
	}
	return st
}

// container is the status of the pod's one container.
func container(st *corev1.PodStatus) *corev1.ContainerStatus {
	if len(st.ContainerStatuses) == 0 {
		st.ContainerStatuses = []corev1.ContainerStatus{{}}
	}
	return &st.ContainerStatuses[0]
}

// setWaiting says the container is not running yet, and why.
func setWaiting(st *corev1.PodStatus, reason, msg string) {
	c := container(st)
	c.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
	c.Ready, c.Started = false, ptr(false)
	setReady(st, false)
}

// setRunning says the command runs in vm since started.
func setRunning(st *corev1.PodStatus, vm api.VM, started time.Time) {
	st.Phase = corev1.PodRunning
	st.Reason, st.Message = "", ""
	if vm.IP != "" {
		st.PodIP = vm.IP
		st.PodIPs = []corev1.PodIP{{IP: vm.IP}}
	}
	c := container(st)
	c.ContainerID = containerID(vm.Name)
	c.ImageID = vm.Image
	c.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}
	c.Ready, c.Started = true, ptr(true)
	setReady(st, true)
}

// terminated is the state of a command that ended with exit.
func terminated(vm string, exit api.ExitStatus, started, finished time.Time, reason, msg string) *corev1.ContainerStateTerminated {
	if reason == "" {
		reason = reasonCompleted
		if exit.Code != 0 {
			reason = reasonError
		}
	}
	if msg == "" && exit.Signal != "" {
		msg = "killed by SIG" + exit.Signal
	}
	return &corev1.ContainerStateTerminated{
		ExitCode: int32(exit.Code), Signal: int32(signalNumber(exit.Signal)),
		Reason: reason, Message: msg, ContainerID: containerID(vm),
		StartedAt: metav1.NewTime(started), FinishedAt: metav1.NewTime(finished),
	}
}

// setFinished ends the pod with its command's end t: Succeeded for 0,
// Failed otherwise.
func setFinished(st *corev1.PodStatus, t *corev1.ContainerStateTerminated) {
	st.Phase = corev1.PodSucceeded
	if t.ExitCode != 0 {
		st.Phase = corev1.PodFailed
	}
	c := container(st)
	c.State = corev1.ContainerState{Terminated: t}
	c.Ready, c.Started = false, ptr(false)
	setReady(st, false)
}

// setRestarting records an ended command that is about to run again.
func setRestarting(st *corev1.PodStatus, t *corev1.ContainerStateTerminated, msg string) {
	c := container(st)
	c.LastTerminationState = corev1.ContainerState{Terminated: t}
	c.RestartCount++
	c.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reasonBackOff, Message: msg}}
	c.Ready, c.Started = false, ptr(false)
	setReady(st, false)
}

// setPodFailed fails the whole pod with a reason, before or instead of
// running its command.
func setPodFailed(st *corev1.PodStatus, reason, msg string) {
	st.Phase = corev1.PodFailed
	st.Reason, st.Message = reason, msg
	c := container(st)
	if c.State.Terminated == nil {
		now := metav1.Now()
		c.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Reason: reason, Message: msg, StartedAt: now, FinishedAt: now,
		}}
	}
	c.Ready, c.Started = false, ptr(false)
	setReady(st, false)
}

func setReady(st *corev1.PodStatus, ready bool) {
	v := corev1.ConditionFalse
	if ready {
		v = corev1.ConditionTrue
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if (c.Type == corev1.PodReady || c.Type == corev1.ContainersReady) && c.Status != v {
			c.Status, c.LastTransitionTime = v, metav1.Now()
		}
	}
}

// restarts reports whether policy runs a command again after exit.
func restarts(policy corev1.RestartPolicy, exit api.ExitStatus) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exit.Code != 0
	}
	return true // Always, the default
}

// signalNumber is a signal's number on Linux, 0 for none or unknown.
func signalNumber(name string) int {
	return map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "SEGV": 11, "PIPE": 13, "ALRM": 14, "TERM": 15}[name]
}

func ptr[T any](v T) *T { return &v }
