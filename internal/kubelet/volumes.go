package kubelet

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// volumeSource finds the ConfigMaps and Secrets a pod's volumes name,
// and makes the service account tokens they ask for.
type volumeSource interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, error)
	Secret(namespace, name string) (*corev1.Secret, error)
	Token(ctx context.Context, req tokenRequest, pod *corev1.Pod) (string, error)
}

// Default modes of a volume's files, as the kubelet gives them.
const (
	defaultFileMode = 0o644
	maxVolumeBytes  = 4 << 20 // a ConfigMap or Secret is at most 1 MiB in etcd; leave room
)

// volumeFiles lists the files the container's ConfigMap, Secret,
// downward API and projected mounts put in the guest, and the emptyDir
// mount points to make.
func volumeFiles(pod *corev1.Pod, src volumeSource) ([]guestFile, []string, error) {
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	var files []guestFile
	var dirs []string
	for i, m := range pod.Spec.Containers[0].VolumeMounts {
		v := vols[m.Name]
		if v.EmptyDir != nil {
			dirs = append(dirs, path.Join(m.MountPath, m.SubPath))
			continue
		}
		fs, err := mountVolume(pod, m, v, src)
		if err != nil {
			return nil, nil, fmt.Errorf("spec.containers[0].volumeMounts[%d] (volume %q): %w", i, m.Name, err)
		}
		files = append(files, fs...)
	}
	return files, dirs, nil
}

// mountVolume lists the files one mount of v puts in the guest.
func mountVolume(pod *corev1.Pod, m corev1.VolumeMount, v corev1.Volume, src volumeSource) ([]guestFile, error) {
	switch {
	case v.ConfigMap != nil:
		data, err := configMapData(pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Optional, src)
		if err != nil {
			return nil, err
		}
		return mountFiles(m, data, v.ConfigMap.DefaultMode, v.ConfigMap.Items)
	case v.Secret != nil:
		data, err := secretData(pod.Namespace, v.Secret.SecretName, v.Secret.Optional, src)
		if err != nil {
			return nil, err
		}
		return mountFiles(m, data, v.Secret.DefaultMode, v.Secret.Items)
	case v.DownwardAPI != nil:
		return downwardFiles(pod, m, v.DownwardAPI)
	case v.Projected != nil:
		return projectedFiles(pod, m, v.Projected, src)
	}
	return nil, nil // refuse has named it already
}

// configMapData reads a ConfigMap's keys; a missing optional one has
// none.
func configMapData(ns, name string, optional *bool, src volumeSource) (map[string][]byte, error) {
	data := map[string][]byte{}
	cm, err := src.ConfigMap(ns, name)
	if err != nil {
		if optional != nil && *optional {
			return data, nil
		}
		return nil, fmt.Errorf("reading ConfigMap %s: %w", name, err)
	}
	for k, s := range cm.Data {
		data[k] = []byte(s)
	}
	for k, b := range cm.BinaryData {
		data[k] = b
	}
	return data, nil
}

// secretData reads a Secret's keys; a missing optional one has none.
func secretData(ns, name string, optional *bool, src volumeSource) (map[string][]byte, error) {
	data := map[string][]byte{}
	sec, err := src.Secret(ns, name)
	if err != nil {
		if optional != nil && *optional {
			return data, nil
		}
		return nil, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	for k, b := range sec.Data {
		data[k] = b
	}
	for k, s := range sec.StringData {
		data[k] = []byte(s)
	}
	return data, nil
}

// mountFiles places a volume's keys under the mount point: every key, or
// only the listed items, at their own relative paths; a subPath mounts
// the one file or directory under it.
func mountFiles(m corev1.VolumeMount, data map[string][]byte, mode *int32, items []corev1.KeyToPath) ([]guestFile, error) {
	fileMode := uint32(defaultFileMode)
	if mode != nil {
		fileMode = uint32(*mode) & 0o777
	}
	type entry struct {
		rel  string
		mode uint32
		data []byte
	}
	var entries []entry
	total := 0
	if len(items) == 0 {
		for k, b := range data {
			entries = append(entries, entry{k, fileMode, b})
		}
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("items: no key %q", it.Key)
		}
		md := fileMode
		if it.Mode != nil {
			md = uint32(*it.Mode) & 0o777
		}
		entries = append(entries, entry{it.Path, md, b})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	var out []guestFile
	for _, e := range entries {
		if !safeRel(e.rel) {
			return nil, fmt.Errorf("key %q is not a relative path inside the volume", e.rel)
		}
		rel, ok := underSubPath(e.rel, m.SubPath)
		if !ok {
			continue
		}
		if total += len(e.data); total > maxVolumeBytes {
			return nil, fmt.Errorf("more than %d bytes", maxVolumeBytes)
		}
		out = append(out, guestFile{Path: path.Join(m.MountPath, rel), Mode: e.mode, Data: e.data})
	}
	return out, nil
}

// underSubPath re-roots rel at sub: the file sub itself becomes the
// mount point, files under sub/ keep the rest of their path.
func underSubPath(rel, sub string) (string, bool) {
	if sub == "" {
		return rel, true
	}
	if rel == sub {
		return ".", true
	}
	rest, ok := strings.CutPrefix(rel, strings.TrimSuffix(sub, "/")+"/")
	return rest, ok
}

// safeRel reports whether p stays inside the directory it is joined to.
func safeRel(p string) bool {
	if p == "" || path.IsAbs(p) {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return false
		}
	}
	return true
}
