package msgcrypt

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// vectors is testdata/vectors.json, made by testdata/gen_vectors.py with
// Python's hashlib and the `cryptography` package: another implementation
// written from the protocol description, so these tests catch a mistake the
// Go code would otherwise agree with itself about.
type vectors struct {
	Signatures []struct {
		Parts     []string `json:"parts"`
		Signature string   `json:"signature"`
	} `json:"signatures"`
	Valid []struct {
		Name, Key, AppID, Random, Msg, Encrypt string
	} `json:"valid"`
	Invalid []struct {
		Name, Key, AppID, Encrypt, Error string
	} `json:"invalid"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Signatures) == 0 || len(v.Valid) == 0 || len(v.Invalid) == 0 {
		t.Fatal("vectors.json is missing a section")
	}
	return v
}

func TestSignatureVectors(t *testing.T) {
	for _, tt := range loadVectors(t).Signatures {
		if got := Signature(tt.Parts...); got != tt.Signature {
			t.Errorf("Signature(%q) = %s, want %s", tt.Parts, got, tt.Signature)
		}
		if !Verify(tt.Signature, tt.Parts...) {
			t.Errorf("Verify(%s, %q) = false", tt.Signature, tt.Parts)
		}
		if !Verify(strings.ToUpper(tt.Signature), tt.Parts...) {
			t.Errorf("Verify of the uppercase hex refused")
		}
		// The order of the parts does not matter: they are sorted.
		rev := append([]string(nil), tt.Parts...)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if !Verify(tt.Signature, rev...) {
			t.Errorf("Verify depends on the order of parts")
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	good := Signature("tok", "1700000000", "n1")
	tests := []struct {
		name  string
		sig   string
		parts []string
	}{
		{"empty", "", []string{"tok", "1700000000", "n1"}},
		{"other token", good, []string{"tok2", "1700000000", "n1"}},
		{"other timestamp", good, []string{"tok", "1700000001", "n1"}},
		{"other nonce", good, []string{"tok", "1700000000", "n2"}},
		{"truncated", good[:39], []string{"tok", "1700000000", "n1"}},
		{"extra", good + "0", []string{"tok", "1700000000", "n1"}},
		{"huge", strings.Repeat("a", 10000), []string{"tok", "1700000000", "n1"}},
	}
	for _, tt := range tests {
		if Verify(tt.sig, tt.parts...) {
			t.Errorf("%s: verified", tt.name)
		}
	}
}

func TestDecryptVectors(t *testing.T) {
	for _, tt := range loadVectors(t).Valid {
		c, err := New(tt.Key, tt.AppID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decrypt(tt.Encrypt)
		if err != nil {
			t.Errorf("%s: Decrypt: %v", tt.Name, err)
			continue
		}
		if string(got) != tt.Msg {
			t.Errorf("%s: Decrypt = %q, want %q", tt.Name, got, tt.Msg)
		}
	}
}

func TestEncryptVectors(t *testing.T) {
	for _, tt := range loadVectors(t).Valid {
		c, err := New(tt.Key, tt.AppID)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := hex.DecodeString(tt.Random)
		if err != nil || len(rb) != 16 {
			t.Fatalf("%s: bad random %q", tt.Name, tt.Random)
		}
		var r [16]byte
		copy(r[:], rb)
		if got := c.EncryptWith(r, []byte(tt.Msg)); got != tt.Encrypt {
			t.Errorf("%s: EncryptWith = %s, want %s", tt.Name, got, tt.Encrypt)
		}
	}
}

func TestDecryptInvalidVectors(t *testing.T) {
	for _, tt := range loadVectors(t).Invalid {
		c, err := New(tt.Key, tt.AppID)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := c.Decrypt(tt.Encrypt)
		if err == nil {
			t.Errorf("%s: decrypted to %q", tt.Name, msg)
			continue
		}
		want := map[string]error{"appid": ErrAppID, "padding": ErrPadding, "length": ErrLength, "ciphertext": ErrCiphertext}[tt.Error]
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", tt.Name, err, want)
		}
	}
}

func TestEncryptIsFreshAndRoundTrips(t *testing.T) {
	c, err := New("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxapp")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Encrypt([]byte("<xml/>"))
	b, _ := c.Encrypt([]byte("<xml/>"))
	if a == b {
		t.Error("two encryptions of one message are equal: the random prefix is not random")
	}
	for _, s := range []string{a, b} {
		if m, err := c.Decrypt(s); err != nil || string(m) != "<xml/>" {
			t.Errorf("round trip: %q %v", m, err)
		}
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	for _, k := range []string{"", "short", strings.Repeat("a", 42), strings.Repeat("a", 44), strings.Repeat("*", 43)} {
		if _, err := New(k, "wx"); err == nil {
			t.Errorf("New(%q) accepted", k)
		}
		if ValidKey(k) {
			t.Errorf("ValidKey(%q)", k)
		}
	}
}

// FuzzDecrypt: any input either fails with an error or yields a message that
// seals back (with some random prefix) to something that opens to the same
// message; never a panic.
func FuzzDecrypt(f *testing.F) {
	v := vectors{}
	if b, err := os.ReadFile("testdata/vectors.json"); err == nil {
		_ = json.Unmarshal(b, &v)
	}
	for _, tt := range v.Valid {
		f.Add(tt.Encrypt)
	}
	for _, tt := range v.Invalid {
		f.Add(tt.Encrypt)
	}
	f.Add("")
	f.Add("AAAA")
	c, err := New("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx5823bf96d3bd56c7")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		msg, err := c.Decrypt(s)
		if err != nil {
			return
		}
		again, err := c.Decrypt(c.EncryptWith([16]byte{}, msg))
		if err != nil || string(again) != string(msg) {
			t.Fatalf("re-sealed message did not open: %v", err)
		}
	})
}
