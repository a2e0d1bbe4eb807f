// Package sshkey makes the ed25519 key pairs banger hands to ssh: the
// user's key for its guests, and each clone's host key. The host and the
// guest agent both use it, so it imports nothing of banger's.
package sshkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"

	"golang.org/x/crypto/ssh"
)

// New makes an ed25519 key pair: the private key in OpenSSH's PEM form,
// unencrypted, with comment, and its public half.
func New(comment string) (private []byte, public ssh.PublicKey, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, err
	}
	public, err = ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), public, nil
}
