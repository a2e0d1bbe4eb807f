// Package apikey keeps the key that E2B clients present to bangerd's E2B
// API as X-API-KEY: "e2b_" and 32 random bytes in hex, in a file of
// banger's config directory readable by its owner only. `banger e2b env`
// prints it; a new key revokes the old one at once, since bangerd reads
// the file for each request.
package apikey

import "banger/internal/secretfile"

// Prefix starts every key, as E2B's own keys do.
const Prefix = "e2b_"

// Secret is the key's file: Load, Ensure (making a key when there is
// none) and New (replacing it) take its path. Compare keys with
// secretfile.Equal.
var Secret = secretfile.Secret{
	Prefix: Prefix,
	Name:   "the E2B API key",
	Renew:  "remove the file, and `banger e2b env` makes a new one",
}
