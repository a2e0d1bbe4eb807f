package paths

import "testing"

func TestKubeletBinaryFromTheEnvironment(t *testing.T) {
	t.Setenv(KubeletBinaryEnv, "/opt/banger/banger-kubelet")
	got, err := KubeletBinary()
	if err != nil || got != "/opt/banger/banger-kubelet" {
		t.Errorf("KubeletBinary() = %q, %v; want the $%s path", got, err, KubeletBinaryEnv)
	}
}
