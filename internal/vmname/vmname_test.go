package vmname

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestValidate(t *testing.T) {
	good := []string{"a", "sandbox", "web-1", "x" + strings.Repeat("9", 62)}
	for _, name := range good {
		if err := Validate(name); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", name, err)
		}
	}
	bad := map[string]string{
		"":                            "empty",
		"Sandbox":                     "lowercase",
		"1box":                        "start with",
		"-box":                        "start with",
		"box-":                        "end with",
		"my_box":                      `"_"`,
		"my box":                      `" "`,
		"box.vm":                      `"."`,
		"a" + strings.Repeat("b", 63): "limit is 63",
	}
	for name, want := range bad {
		err := Validate(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%q) = %v, want an error containing %q", name, err, want)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Validate(%q) error is not invalid_argument", name)
		}
	}
}

func TestGenerateAvoidsTakenNames(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		name := Generate(func(n string) bool { return seen[n] })
		if err := Validate(name); err != nil {
			t.Fatalf("generated invalid name %q: %v", name, err)
		}
		if seen[name] {
			t.Fatalf("generated a taken name %q", name)
		}
		seen[name] = true
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"box", "-", "a-b-c", "\x00", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if Validate(name) != nil {
			return
		}
		if len(name) == 0 || len(name) > MaxLen || strings.ContainsAny(name, "._ ") {
			t.Fatalf("accepted bad name %q", name)
		}
	})
}

func TestValidateResource(t *testing.T) {
	for _, name := range []string{"debian-bookworm", "debian-6.1-cloud", "my_kernel", "7x"} {
		if err := ValidateResource("image", name); err != nil {
			t.Errorf("ValidateResource(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", ".hidden", "a/b", "UP", "../x", strings.Repeat("a", 64)} {
		if err := ValidateResource("image", name); err == nil || !strings.Contains(err.Error(), "image name") {
			t.Errorf("ValidateResource(%q) = %v, want an error naming the image", name, err)
		}
	}
}
