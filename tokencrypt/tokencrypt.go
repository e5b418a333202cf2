// Package tokencrypt seals WeChat tokens at rest with AES-256-GCM. Each
// ciphertext names the key that sealed it, so TOKEN_KEY can be rotated: new
// values use the first key, old ones still open with any listed key.
package tokencrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

const idLen = 4

// Sealer encrypts and decrypts small secrets.
type Sealer struct {
	keys []key
}

type key struct {
	id   [idLen]byte
	aead cipher.AEAD
}

// New builds a Sealer from 32-byte keys, newest first.
func New(keys [][]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("tokencrypt: no key")
	}
	s := &Sealer{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("tokencrypt: key %d is %d bytes, want 32", i+1, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(k)
		var kk key
		copy(kk.id[:], sum[:idLen])
		kk.aead = aead
		s.keys = append(s.keys, kk)
	}
	return s, nil
}

// Seal encrypts plaintext with the newest key; additional binds the
// ciphertext to its row (e.g. the openid) so it cannot be moved to another.
func (s *Sealer) Seal(plaintext, additional []byte) ([]byte, error) {
	k := s.keys[0]
	out := make([]byte, idLen, idLen+k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	copy(out, k.id[:])
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, additional), nil
}

// ErrUnknownKey means the ciphertext was sealed with a key no longer configured.
var ErrUnknownKey = errors.New("tokencrypt: sealed with an unknown key")

// Open decrypts a value sealed by Seal with any configured key.
func (s *Sealer) Open(ciphertext, additional []byte) ([]byte, error) {
	if len(ciphertext) < idLen {
		return nil, errors.New("tokencrypt: ciphertext too short")
	}
	for _, k := range s.keys {
		if [idLen]byte(ciphertext[:idLen]) != k.id {
			continue
		}
		rest := ciphertext[idLen:]
		ns := k.aead.NonceSize()
		if len(rest) < ns {
			return nil, errors.New("tokencrypt: ciphertext too short")
		}
		pt, err := k.aead.Open(nil, rest[:ns], rest[ns:], additional)
		if err != nil {
			return nil, errors.New("tokencrypt: ciphertext does not authenticate")
		}
		return pt, nil
	}
	return nil, ErrUnknownKey
}

// NeedsReseal reports whether a ciphertext was sealed with an older key, so a
// rotation job can re-encrypt it with the newest.
func (s *Sealer) NeedsReseal(ciphertext []byte) bool {
	return len(ciphertext) >= idLen && [idLen]byte(ciphertext[:idLen]) != s.keys[0].id
}
