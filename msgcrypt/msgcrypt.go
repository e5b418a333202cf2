// Package msgcrypt is the cryptography of WeChat's server configuration
// (服务器配置, wechat-api.md §9): the signatures over Token, timestamp, nonce
// (and Encrypt) and the AES-256-CBC "safe mode" envelope. It imports nothing
// of the app, so the simulator and the app share one implementation and the
// tests can hold it against vectors made by another one (testdata/).
package msgcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
)

// blockSize is the padding unit WeChat uses: PKCS#7 to a multiple of 32
// bytes (not AES's 16), so a 16-byte pad block is valid and 33..255 is not.
const blockSize = 32

// MaxMessage bounds a decrypted message; WeChat's pushes are a few KiB and
// the request body is bounded to 64 KiB anyway.
const MaxMessage = 64 << 10

// Errors Decrypt returns. ErrAppID means the envelope decrypted but was
// sealed for another account: a forgery or a misconfiguration, never a
// transport problem.
var (
	ErrCiphertext = errors.New("msgcrypt: malformed ciphertext")
	ErrPadding    = errors.New("msgcrypt: bad padding")
	ErrLength     = errors.New("msgcrypt: bad message length")
	ErrAppID      = errors.New("msgcrypt: appid does not match")
)

// Signature is sha1 over the parts sorted and joined, in lowercase hex:
// Signature(token, timestamp, nonce) is a push's `signature`, and
// Signature(token, timestamp, nonce, encrypt) its `msg_signature`.
func Signature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether sig is the Signature of parts, comparing in
// constant time so the answer's timing does not leak how much of a guessed
// signature was right. An empty sig never verifies.
func Verify(sig string, parts ...string) bool {
	if sig == "" || len(sig) > 64 {
		return false
	}
	want := Signature(parts...)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(sig)), []byte(want)) == 1
}

// ValidKey reports whether s has the shape of an EncodingAESKey: 43
// characters of the base64 alphabet that decode (with "=") to 32 bytes.
func ValidKey(s string) bool {
	_, err := decodeKey(s)
	return err == nil
}

func decodeKey(s string) ([]byte, error) {
	if len(s) != 43 {
		return nil, errors.New("msgcrypt: EncodingAESKey must be 43 characters")
	}
	k, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(k) != 32 {
		return nil, errors.New("msgcrypt: EncodingAESKey is not base64 of 32 bytes")
	}
	return k, nil
}

// Cipher seals and opens safe-mode envelopes for one account.
type Cipher struct {
	block cipher.Block
	iv    []byte
	appID string
}

// New builds a Cipher from the account's EncodingAESKey (43 characters) and
// its appid, which every envelope carries and Decrypt checks.
func New(encodingAESKey, appID string) (*Cipher, error) {
	key, err := decodeKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &Cipher{block: b, iv: key[:16], appID: appID}, nil
}

// AppID is the appid the Cipher seals with and expects.
func (c *Cipher) AppID() string { return c.appID }

// Encrypt seals msg as WeChat does, with 16 fresh random bytes in front, and
// returns the base64 text of an <Encrypt> element.
func (c *Cipher) Encrypt(msg []byte) (string, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return c.EncryptWith(r, msg), nil
}

// EncryptWith seals msg with the given 16 leading bytes; tests use it to
// reproduce vectors exactly. Production code calls Encrypt.
func (c *Cipher) EncryptWith(random [16]byte, msg []byte) string {
	var buf bytes.Buffer
	buf.Write(random[:])
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(msg)))
	buf.Write(n[:])
	buf.Write(msg)
	buf.WriteString(c.appID)
	pad := blockSize - buf.Len()%blockSize
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	out := buf.Bytes()
	cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out)
}

// Decrypt opens the base64 text of an <Encrypt> element and returns the
// message, after checking the padding, the length field and that the appid
// inside is this account's.
func (c *Cipher) Decrypt(encrypted string) ([]byte, error) {
	if len(encrypted) > base64.StdEncoding.EncodedLen(MaxMessage+16+4+blockSize+len(c.appID)) {
		return nil, ErrCiphertext
	}
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrCiphertext
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockSize || pad > len(pt) {
		return nil, ErrPadding
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, ErrPadding
		}
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, ErrLength
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	rest := pt[20:]
	if uint64(n) > uint64(len(rest)) || n > MaxMessage {
		return nil, ErrLength
	}
	msg, appID := rest[:n], rest[n:]
	if subtle.ConstantTimeCompare(appID, []byte(c.appID)) != 1 {
		return nil, ErrAppID
	}
	return msg, nil
}
