package kubelet

import (
	"context"

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
