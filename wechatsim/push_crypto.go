package wechatsim

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
)

// The simulator signs and seals pushes with code of its own rather than
// the app's msgcrypt: it imports nothing of the app, and a second
// implementation written from wechat-api.md §9 is one more check that the
// app reads what WeChat writes.

// pushSignature is sha1 over the sorted parts, joined, in hex.
func pushSignature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// sealPush is WeChat's safe-mode envelope: AES-256-CBC with the key's first
// 16 bytes as IV over random(16) ‖ len(msg) big-endian ‖ msg ‖ appid,
// PKCS#7-padded to 32 bytes; base64.
func sealPush(encodingAESKey, appID string, msg []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return "", errors.New("wechatsim: EncodingAESKey must be 43 base64 characters")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	r := make([]byte, 16)
	_, _ = rand.Read(r)
	buf.Write(r)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(appID)
	n := 32 - buf.Len()%32
	buf.Write(bytes.Repeat([]byte{byte(n)}, n))
	out := buf.Bytes()
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out), nil
}
