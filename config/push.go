package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"wxlogin/msgcrypt"
)

// checkPushSecrets validates WECHAT_TOKEN and WECHAT_AES_KEY as the MP
// backend defines them. An AES key without a Token is refused: the Token
// signs every push, the key alone verifies nothing.
func checkPushSecrets(token, aesKey string) error {
	var errs []error
	if token != "" && (len(token) < 3 || len(token) > 32 || !alnum(token)) {
		errs = append(errs, errors.New("WECHAT_TOKEN: want 3–32 letters and digits, as set in the MP backend (服务器配置)"))
	}
	if aesKey != "" && !msgcrypt.ValidKey(aesKey) {
		errs = append(errs, errors.New("WECHAT_AES_KEY: want the 43-character EncodingAESKey from the MP backend"))
	}
	if aesKey != "" && token == "" {
		errs = append(errs, errors.New("WECHAT_AES_KEY: set WECHAT_TOKEN too (the Token signs every push)"))
	}
	return errors.Join(errs...)
}

// randomAESKey is a fresh EncodingAESKey for simulator mode: 32 random
// bytes in base64 without the trailing "=" (43 characters).
func randomAESKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return strings.TrimRight(base64.StdEncoding.EncodeToString(b), "=")
}
