package kubelet

import (
	"fmt"
	"net"
	"strconv"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeClient reaches the cluster through the kubeconfig at path, or,
// when path is "", the in-cluster configuration.
func kubeClient(path string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if path != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("reading the kubeconfig %s: %w", path, err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return nil, fmt.Errorf("no kubeconfig: give --kubeconfig or set KUBECONFIG (%w)", err)
	}
	cfg.UserAgent = "banger-kubelet"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making a Kubernetes client: %w", err)
	}
	return cs, nil
}

// listenPort is the port of a listen address, 10250 when it has none.
func listenPort(addr string) int32 {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 10250
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 10250
	}
	return int32(n)
}
