package e2b

import (
	"context"
	"log/slog"

	"banger/internal/e2b/envd"
)

// envdOver is the sandbox side served by package envd over the guest
// agents that guests reaches.
func envdOver(guests envd.Guests, log *slog.Logger) (Envd, func(context.Context, EnvdSandbox) context.Context) {
	srv := envd.New(envd.Options{Guests: guests, Log: log})
	return srv, func(ctx context.Context, s EnvdSandbox) context.Context {
		return envd.WithSandbox(ctx, envd.Sandbox{VM: s.VM, Env: s.Env, AccessToken: s.AccessToken})
	}
}
