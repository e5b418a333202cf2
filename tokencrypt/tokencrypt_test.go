package tokencrypt

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpenRotation(t *testing.T) {
	oldKey := bytes.Repeat([]byte{1}, 32)
	newKey := bytes.Repeat([]byte{2}, 32)
	old, err := New([][]byte{oldKey})
	if err != nil {
		t.Fatal(err)
	}
	sealedOld, err := old.Seal([]byte("ACCESS_TOKEN"), []byte("openid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealedOld, []byte("ACCESS_TOKEN")) {
		t.Fatal("plaintext visible in ciphertext")
	}
	rotated, err := New([][]byte{newKey, oldKey})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		s       *Sealer
		ct      []byte
		ad      string
		want    string
		wantErr bool
	}{
		{"old key still opens after rotation", rotated, sealedOld, "openid-1", "ACCESS_TOKEN", false},
		{"wrong associated data", rotated, sealedOld, "openid-2", "", true},
		{"removed key", mustNew(t, newKey), sealedOld, "openid-1", "", true},
		{"truncated", rotated, sealedOld[:10], "openid-1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Open(tt.ct, []byte(tt.ad))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
		})
	}
	if !rotated.NeedsReseal(sealedOld) {
		t.Fatal("old ciphertext should need resealing")
	}
	fresh, _ := rotated.Seal([]byte("x"), nil)
	if rotated.NeedsReseal(fresh) {
		t.Fatal("fresh ciphertext should not need resealing")
	}
	if _, err := mustNew(t, newKey).Open(sealedOld, []byte("openid-1")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("want ErrUnknownKey, got %v", err)
	}
}

func mustNew(t *testing.T, keys ...[]byte) *Sealer {
	t.Helper()
	s, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealUsesAFreshNonce: AES-GCM with a repeated nonce under one key leaks
// the XOR of the plaintexts and lets anyone forge tags, so every Seal must
// draw a fresh random nonce. Two seals of the same value under the same key
// and associated data must differ, their nonces must differ, and no nonce may
// be all zero (the classic "forgot to fill it" bug).
func TestSealUsesAFreshNonce(t *testing.T) {
	s := mustNew(t, bytes.Repeat([]byte{3}, 32))
	const seals = 64
	nonceSize := s.keys[0].aead.NonceSize()
	zero := make([]byte, nonceSize)
	seenCT := map[string]bool{}
	seenNonce := map[string]bool{}
	for i := range seals {
		ct, err := s.Seal([]byte("ACCESS_TOKEN"), []byte("openid-1"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) < idLen+nonceSize {
			t.Fatalf("seal %d: %d bytes, too short to hold a nonce", i, len(ct))
		}
		nonce := ct[idLen : idLen+nonceSize]
		if bytes.Equal(nonce, zero) {
			t.Fatalf("seal %d: the nonce is all zero", i)
		}
		if seenNonce[string(nonce)] {
			t.Fatalf("seal %d: nonce %x repeated under the same key", i, nonce)
		}
		if seenCT[string(ct)] {
			t.Fatalf("seal %d: two seals of the same value are identical", i)
		}
		seenNonce[string(nonce)], seenCT[string(ct)] = true, true
		if pt, err := s.Open(ct, []byte("openid-1")); err != nil || string(pt) != "ACCESS_TOKEN" {
			t.Fatalf("seal %d does not open: %q %v", i, pt, err)
		}
	}
}
