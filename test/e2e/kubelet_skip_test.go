//go:build !kubecp

package e2e

import "testing"

// TestKubelet stands in for kubelet_test.go, which needs the real control
// plane of package test/internal/kubecp and builds with -tags kubecp.
func TestKubelet(t *testing.T) {
	t.Skip("banger kubelet end to end needs test/internal/kubecp (a real kube-apiserver, etcd and kube-scheduler): run with -tags kubecp once it is in the tree")
}
