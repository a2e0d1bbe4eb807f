// Package token keeps the web UI's access token: a random secret in a file
// of bangerd's state directory, readable by its owner only. A browser on
// another machine presents it once and gets a cookie; browsers on this
// machine need none. A new token revokes every cookie handed out for the
// old one.
package token

import "banger/internal/secretfile"

// Secret is the token's file: Load, Ensure (making a token when there is
// none) and New (replacing it) take its path. Compare tokens with
// secretfile.Equal.
var Secret = secretfile.Secret{
	Name:  "the web UI's access token",
	Renew: "make a new one with `banger web token --new`",
}
