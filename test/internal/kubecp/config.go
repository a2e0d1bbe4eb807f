package kubecp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a kubeconfig file for the user of the client
// certificate user, trusting ca, to path.
func writeKubeconfig(path string, ca []byte, user pair) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubecp"] = &clientcmdapi.Cluster{Server: Server, CertificateAuthorityData: ca}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificateData: user.cert, ClientKeyData: user.key}
	cfg.Contexts["kubecp"] = &clientcmdapi.Context{Cluster: "kubecp", AuthInfo: "user"}
	cfg.CurrentContext = "kubecp"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing the kubeconfig %s: %w", path, err)
	}
	return nil
}

// UserKubeconfig writes a kubeconfig file, for programs in the namespace,
// that authenticates with a new client certificate for user in groups,
// such as "system:node:NAME" in "system:nodes". It returns its path.
func (cp *ControlPlane) UserKubeconfig(user string, groups ...string) (string, error) {
	p, err := client(&cp.certs.ca, user, groups...)
	if err != nil {
		return "", err
	}
	name := strings.NewReplacer(":", "-", "/", "-").Replace(user)
	path := filepath.Join(cp.Dir, "kubeconfig-"+name)
	if err := writeKubeconfig(path, cp.certs.ca.cert, p); err != nil {
		return "", err
	}
	return path, nil
}

// toolsDir finds tools/kube in the repository that holds the working
// directory (a test's is its package's directory).
func toolsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("kubecp: finding tools/kube: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module banger\n") {
			return filepath.Join(dir, "tools", "kube"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("kubecp: no banger repository above the working directory, so no tools/kube to build the control plane from: run from the repository")
		}
		dir = parent
	}
}

// CacheDir is where the control plane's binaries are kept under the cache
// root: root/kube, one directory per key. An empty root is
// $BANGER_TEST_CACHE, which CI keeps between runs, else a directory under
// the user's cache: a build is too slow to throw away.
func CacheDir(root string) (string, error) {
	if root == "" {
		root = os.Getenv("BANGER_TEST_CACHE")
	}
	if root != "" {
		return filepath.Join(root, "kube"), nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("kubecp: set BANGER_TEST_CACHE to a directory to keep the control plane's binaries in: %w", err)
	}
	return filepath.Join(c, "banger-test", "kube"), nil
}
