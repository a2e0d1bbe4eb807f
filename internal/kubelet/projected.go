package kubelet

import (
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// tokenRequest is a service account token a projected volume asks for;
// it is requested from the API server when the VM is made, not before.
type tokenRequest struct {
	Namespace, ServiceAccount string
	Audience                  string
	ExpirationSeconds         int64
}

// projectedFiles lists the files of a projected volume's sources.
func projectedFiles(pod *corev1.Pod, m corev1.VolumeMount, pv *corev1.ProjectedVolumeSource, src volumeSource) ([]guestFile, error) {
	var out []guestFile
	for i, s := range pv.Sources {
		var data map[string][]byte
		var items []corev1.KeyToPath
		var err error
		switch {
		case s.ConfigMap != nil:
			data, err = configMapData(pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Optional, src)
			items = s.ConfigMap.Items
		case s.Secret != nil:
			data, err = secretData(pod.Namespace, s.Secret.Name, s.Secret.Optional, src)
			items = s.Secret.Items
		case s.DownwardAPI != nil:
			data, items, err = downwardData(pod, s.DownwardAPI.Items)
		case s.ServiceAccountToken != nil:
			f, ok := tokenFile(pod, m, s.ServiceAccountToken, pv.DefaultMode)
			if ok {
				out = append(out, f)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sources[%d]: %w", i, err)
		}
		fs, err := mountFiles(m, data, pv.DefaultMode, items)
		if err != nil {
			return nil, fmt.Errorf("sources[%d]: %w", i, err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

// tokenFile is the file of a service account token source.
func tokenFile(pod *corev1.Pod, m corev1.VolumeMount, s *corev1.ServiceAccountTokenProjection, mode *int32) (guestFile, bool) {
	rel, ok := underSubPath(s.Path, m.SubPath)
	if !ok {
		return guestFile{}, false
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(3600)
	if s.ExpirationSeconds != nil {
		exp = *s.ExpirationSeconds
	}
	f := guestFile{Path: path.Join(m.MountPath, rel), Mode: defaultFileMode,
		Token: &tokenRequest{Namespace: pod.Namespace, ServiceAccount: sa, Audience: s.Audience, ExpirationSeconds: exp}}
	if mode != nil {
		f.Mode = uint32(*mode) & 0o777
	}
	return f, true
}

// downwardFiles lists a downwardAPI volume's files.
func downwardFiles(pod *corev1.Pod, m corev1.VolumeMount, v *corev1.DownwardAPIVolumeSource) ([]guestFile, error) {
	data, items, err := downwardData(pod, v.Items)
	if err != nil {
		return nil, err
	}
	return mountFiles(m, data, v.DefaultMode, items)
}

// downwardData gives each downward API item's value as a key named after
// its path.
func downwardData(pod *corev1.Pod, files []corev1.DownwardAPIVolumeFile) (map[string][]byte, []corev1.KeyToPath, error) {
	data := map[string][]byte{}
	var items []corev1.KeyToPath
	for _, f := range files {
		v, err := fieldValue(pod, f.FieldRef)
		if err != nil {
			return nil, nil, fmt.Errorf("items %q: %w", f.Path, err)
		}
		data[f.Path] = []byte(v)
		items = append(items, corev1.KeyToPath{Key: f.Path, Path: f.Path, Mode: f.Mode})
	}
	return data, items, nil
}

// fieldValue is the value of a pod field the downward API names, as the
// kubelet writes it; only what is known before the VM runs.
func fieldValue(pod *corev1.Pod, ref *corev1.ObjectFieldSelector) (string, error) {
	if ref == nil {
		return "", fmt.Errorf("only fieldRef is supported on a banger node")
	}
	switch ref.FieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	}
	return "", fmt.Errorf("fieldRef %s is not supported on a banger node", ref.FieldPath)
}

// formatMap writes labels or annotations one key="value" a line, sorted.
func formatMap(m map[string]string) string {
	lines := make([]string, 0, len(m))
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// refuseProjected names a projected volume source this node cannot fill.
func refuseProjected(field string, pv *corev1.ProjectedVolumeSource) error {
	for i, s := range pv.Sources {
		switch {
		case s.ConfigMap != nil, s.Secret != nil, s.ServiceAccountToken != nil:
		case s.DownwardAPI != nil:
			if err := refuseDownward(fmt.Sprintf("%s.projected.sources[%d].downwardAPI", field, i), s.DownwardAPI.Items); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s.projected.sources[%d]: only configMap, secret, downwardAPI and serviceAccountToken sources are supported on a banger node", field, i)
		}
	}
	return nil
}

// refuseDownward names a downward API item this node cannot fill.
func refuseDownward(field string, items []corev1.DownwardAPIVolumeFile) error {
	probe := &corev1.Pod{}
	for i, f := range items {
		if _, err := fieldValue(probe, f.FieldRef); err != nil {
			return fmt.Errorf("%s.items[%d]: %w", field, i, err)
		}
	}
	return nil
}
