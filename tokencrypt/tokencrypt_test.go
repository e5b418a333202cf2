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
