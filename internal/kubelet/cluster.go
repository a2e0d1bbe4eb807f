package kubelet

import (
	"context"
	"errors"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// clusterVolumes finds ConfigMaps and Secrets in the informers' caches,
// and asks the API server for service account tokens bound to the pod.
type clusterVolumes struct {
	configMaps corev1listers.ConfigMapLister
	secrets    corev1listers.SecretLister
	kube       kubernetes.Interface
}

func (c clusterVolumes) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	return c.configMaps.ConfigMaps(ns).Get(name)
}

func (c clusterVolumes) Secret(ns, name string) (*corev1.Secret, error) {
	return c.secrets.Secrets(ns).Get(name)
}

func (c clusterVolumes) Token(ctx context.Context, req tokenRequest, pod *corev1.Pod) (string, error) {
	tr := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		ExpirationSeconds: &req.ExpirationSeconds,
		BoundObjectRef:    &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if req.Audience != "" {
		tr.Spec.Audiences = []string{req.Audience}
	}
	out, err := c.kube.CoreV1().ServiceAccounts(req.Namespace).CreateToken(ctx, req.ServiceAccount, tr, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return out.Status.Token, nil
}

// KubeVolumes is a VolumeSource that reads ConfigMaps and Secrets from
// the API server each time, for a provider run without informers.
func KubeVolumes(kube kubernetes.Interface) VolumeSource { return kubeVolumes{kube} }

type kubeVolumes struct{ kube kubernetes.Interface }

func (k kubeVolumes) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	return k.kube.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func (k kubeVolumes) Secret(ns, name string) (*corev1.Secret, error) {
	return k.kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func (k kubeVolumes) Token(ctx context.Context, req tokenRequest, pod *corev1.Pod) (string, error) {
	return clusterVolumes{kube: k.kube}.Token(ctx, req, pod)
}

// noVolumes is the VolumeSource of a provider given none: every
// ConfigMap, Secret and token is missing.
type noVolumes struct{}

var errNoVolumes = errors.New("this provider has no cluster to read volumes from")

func (noVolumes) ConfigMap(ns, name string) (*corev1.ConfigMap, error) { return nil, errNoVolumes }
func (noVolumes) Secret(ns, name string) (*corev1.Secret, error)       { return nil, errNoVolumes }
func (noVolumes) Token(context.Context, tokenRequest, *corev1.Pod) (string, error) {
	return "", errNoVolumes
}
