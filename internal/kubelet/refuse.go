package kubelet

import (
	"errors"
	"fmt"
	"path"

	corev1 "k8s.io/api/core/v1"
)

// ReasonUnsupported is the reason of a pod this node refuses: its message
// names the field it cannot honour.
const ReasonUnsupported = "UnsupportedByBanger"

// refuse names the first thing in pod this node cannot honour, so that
// the pod fails at once instead of running other than asked. Nothing a
// pod asks for is ignored.
func refuse(pod *corev1.Pod) error {
	s := &pod.Spec
	switch {
	case len(s.Containers) != 1:
		return fmt.Errorf("spec.containers: %d containers; a banger node runs one container per pod, in its own VM", len(s.Containers))
	case len(s.InitContainers) > 0:
		return errors.New("spec.initContainers: init containers are not supported on a banger node")
	case len(s.EphemeralContainers) > 0:
		return errors.New("spec.ephemeralContainers: ephemeral containers are not supported; use kubectl exec")
	case s.HostNetwork:
		return errors.New("spec.hostNetwork: a pod's VM has its own network; host networking is not supported")
	case s.HostPID:
		return errors.New("spec.hostPID: a pod's VM has its own kernel; the host's PIDs are not visible")
	case s.HostIPC:
		return errors.New("spec.hostIPC: a pod's VM has its own kernel; the host's IPC is not visible")
	case s.ShareProcessNamespace != nil && *s.ShareProcessNamespace:
		return errors.New("spec.shareProcessNamespace: not supported on a banger node")
	}
	if err := refuseSecurity(s.SecurityContext); err != nil {
		return err
	}
	for i, v := range s.Volumes {
		if err := refuseVolume(fmt.Sprintf("spec.volumes[%d]", i), v); err != nil {
			return err
		}
	}
	return refuseContainer(&s.Containers[0], s.Volumes)
}

// refuseVolume refuses volume types a copy of files cannot stand for.
func refuseVolume(field string, v corev1.Volume) error {
	switch {
	case v.ConfigMap != nil, v.Secret != nil:
		return nil
	case v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumHugePages:
		return fmt.Errorf("%s.emptyDir.medium: huge pages are not supported", field)
	case v.EmptyDir != nil:
		return nil
	case v.DownwardAPI != nil:
		return refuseDownward(field+".downwardAPI", v.DownwardAPI.Items)
	case v.Projected != nil:
		return refuseProjected(field, v.Projected)
	}
	return fmt.Errorf("%s (%q): only configMap, secret, downwardAPI, projected and emptyDir volumes are supported on a banger node", field, v.Name)
}

// refuseSecurity refuses a pod security context asking for another user
// or more privilege: the command runs as root in its own VM.
func refuseSecurity(sc *corev1.PodSecurityContext) error {
	if sc == nil {
		return nil
	}
	switch {
	case sc.RunAsUser != nil && *sc.RunAsUser != 0:
		return errors.New("spec.securityContext.runAsUser: the command runs as root in its VM; other users are not supported")
	case sc.RunAsGroup != nil && *sc.RunAsGroup != 0:
		return errors.New("spec.securityContext.runAsGroup: the command runs as root in its VM; other groups are not supported")
	case len(sc.Sysctls) > 0:
		return errors.New("spec.securityContext.sysctls: not supported; the VM's kernel is the image's to tune")
	}
	return nil
}

// refuseContainer refuses what the one container asks for and the node
// cannot give.
func refuseContainer(c *corev1.Container, vols []corev1.Volume) error {
	const f = "spec.containers[0]"
	switch {
	case c.Stdin || c.TTY:
		return errors.New(f + ".stdin: attaching to the command is not supported; use kubectl exec")
	case c.LivenessProbe != nil:
		return errors.New(f + ".livenessProbe: probes are not supported on a banger node")
	case c.ReadinessProbe != nil:
		return errors.New(f + ".readinessProbe: probes are not supported on a banger node")
	case c.StartupProbe != nil:
		return errors.New(f + ".startupProbe: probes are not supported on a banger node")
	case c.Lifecycle != nil:
		return errors.New(f + ".lifecycle: postStart and preStop hooks are not supported on a banger node")
	case len(c.VolumeDevices) > 0:
		return errors.New(f + ".volumeDevices: block devices are not supported on a banger node")
	case c.Image == "":
		return errors.New(f + ".image: empty; give an OCI image, or a banger image in the " + AnnotationImage + " annotation")
	}
	if sc := c.SecurityContext; sc != nil {
		switch {
		case sc.Privileged != nil && *sc.Privileged:
			return errors.New(f + ".securityContext.privileged: privileged containers are not supported; the command is root in its own VM already")
		case sc.RunAsUser != nil && *sc.RunAsUser != 0:
			return errors.New(f + ".securityContext.runAsUser: the command runs as root in its VM; other users are not supported")
		case sc.Capabilities != nil && len(sc.Capabilities.Add) > 0:
			return errors.New(f + ".securityContext.capabilities.add: the command runs as root with every capability of its VM")
		}
	}
	if err := refuseResources(c.Resources); err != nil {
		return err
	}
	if err := refusePorts(c.Ports); err != nil {
		return err
	}
	return refuseMounts(c.VolumeMounts, vols)
}

// refuseResources refuses resources a VM cannot be given: only cpu,
// memory and ephemeral-storage are known.
func refuseResources(r corev1.ResourceRequirements) error {
	for _, l := range []struct {
		name string
		list corev1.ResourceList
	}{{"limits", r.Limits}, {"requests", r.Requests}} {
		for name := range l.list {
			switch name {
			case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
			default:
				return fmt.Errorf("spec.containers[0].resources.%s[%s]: this resource is not offered by a banger node", l.name, name)
			}
		}
	}
	return nil
}

// refusePorts refuses ports bangerd cannot forward: SCTP ones.
func refusePorts(ports []corev1.ContainerPort) error {
	for i, p := range ports {
		switch p.Protocol {
		case "", corev1.ProtocolTCP, corev1.ProtocolUDP:
		default:
			return fmt.Errorf("spec.containers[0].ports[%d].protocol: %s cannot be published; only TCP and UDP", i, p.Protocol)
		}
	}
	return nil
}

// refuseMounts refuses mounts of unknown volumes and mount options a file
// copy cannot honour.
func refuseMounts(mounts []corev1.VolumeMount, vols []corev1.Volume) error {
	known := map[string]bool{}
	for _, v := range vols {
		known[v.Name] = true
	}
	for i, m := range mounts {
		f := fmt.Sprintf("spec.containers[0].volumeMounts[%d]", i)
		switch {
		case !known[m.Name]:
			return fmt.Errorf("%s.name: no volume %q in spec.volumes", f, m.Name)
		case !path.IsAbs(m.MountPath) || path.Clean(m.MountPath) == "/":
			return fmt.Errorf("%s.mountPath: %q must be an absolute path below /", f, m.MountPath)
		case m.SubPathExpr != "":
			return fmt.Errorf("%s.subPathExpr: not supported on a banger node", f)
		case m.SubPath != "" && !safeRel(m.SubPath):
			return fmt.Errorf("%s.subPath: %q must be a relative path inside the volume", f, m.SubPath)
		case m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone:
			return fmt.Errorf("%s.mountPropagation: not supported; a volume is files copied into the VM", f)
		}
	}
	return nil
}
