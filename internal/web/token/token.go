// Package token keeps the web UI's access token: a random secret in a file
// of bangerd's state directory, readable by its owner only. A browser on
// another machine presents it once and gets a cookie; browsers on this
// machine need none. A new token revokes every cookie handed out for the
// old one.
package token

import "banger/internal/secretfile"

var token = secretfile.Secret{
	Name:  "the web UI's access token",
	Renew: "make a new one with `banger web token --new`",
}

// Load reads the token in path.
func Load(path string) (string, error) { return token.Load(path) }

// Ensure reads the token in path, making one when there is none.
func Ensure(path string) (string, error) { return token.Ensure(path) }

// New makes a token and replaces the one in path with it, atomically.
func New(path string) (string, error) { return token.New(path) }

// Equal compares a presented token with the real one in constant time.
// An empty real token matches nothing.
func Equal(presented, real string) bool { return secretfile.Equal(presented, real) }
