package dbsession

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// An anonymous session — one that carries no user and no admin, only
// logins in progress — is never written to the database: a cookieless
// visit to the menu entry must cost the database nothing, or an <img>
// pointing at the entry on a page shared in WeChat makes every reader's
// browser write a row (issue 17, finding 4). It lives in the cookie
// instead, sealed with AES-256-GCM: the browser can neither read nor change
// it, and it dies after AnonymousMaxAge, like the states it carries.
//
// A sealed value is sealedPrefix followed by base64url(nonce | ciphertext).
// The plaintext is the sealing time (8 bytes, unix seconds), a random
// 32-byte browser id (what PresentedID returns, so the login callback can
// bind a code to this browser), and the Values (values.go; gob before). The cookie name
// and the session kind are the additional data, so a value sealed for the
// admin cookie or another name does not open here.

// AnonymousMaxAge is how long a sealed anonymous session lives after its
// last save. A login state lives no longer (handlers' stateTTL is this), so
// nothing in the cookie outlives what it is for.
const AnonymousMaxAge = 10 * time.Minute

// sealedPrefix marks a sealed value. Signed ids are securecookie's base64,
// which never contains a '.', so the two kinds cannot be confused.
const sealedPrefix = "a1."

// maxSealedValue bounds a sealed cookie value, both what is decoded and what
// is written: browsers drop cookies over 4 KB, and the handlers bound what
// they put in an anonymous session (five states, their next paths) well
// below this.
const maxSealedValue = 3000

// sealedClockSkew is how far in the future a sealing time may be (instances'
// clocks differ a little); a value further ahead is refused.
const sealedClockSkew = time.Minute

// ErrSealedTooLarge: an anonymous session's Values do not fit in a cookie.
// The handlers bound what they store, so this is a programming error.
var ErrSealedTooLarge = errors.New("dbsession: anonymous session too large for a cookie")

// hkdfInfo separates the sealing keys from the HMAC keys: both are derived
// from the same SESSION_KEYS entries, which sign ids with HMAC-SHA256 as is.
const hkdfInfo = "wxlogin dbsession anonymous session AES-256-GCM v1"

// sealer seals and opens anonymous sessions with every SESSION_KEYS entry:
// the first seals, all open (rotation, as for signed ids).
type sealer struct {
	aeads []cipher.AEAD
	ad    []byte
}

func newSealer(keys [][]byte, kind, cookieName string) (*sealer, error) {
	s := &sealer{ad: []byte(kind + "\x00" + cookieName)}
	for _, k := range keys {
		dk, err := hkdf.Key(sha256.New, k, nil, hkdfInfo, 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(dk)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// browserIDLen is the raw length of a sealed session's browser id.
const browserIDLen = 32

// seal returns the cookie value for an anonymous session of browserID.
func (s *sealer) seal(browserID string, values map[any]any, now time.Time) (string, error) {
	id, err := base64.RawURLEncoding.DecodeString(browserID)
	if err != nil || len(id) != browserIDLen {
		return "", errors.New("dbsession: malformed browser id")
	}
	plain := make([]byte, 8, 256)
	binary.BigEndian.PutUint64(plain, uint64(now.Unix()))
	plain = append(plain, id...)
	plain, err = encodeValues(plain, values, false)
	if err != nil {
		return "", err
	}
	aead := s.aeads[0]
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", err
	}
	out = aead.Seal(out, out, plain, s.ad)
	v := sealedPrefix + base64.RawURLEncoding.EncodeToString(out)
	if len(v) > maxSealedValue {
		return "", ErrSealedTooLarge
	}
	return v, nil
}

// open returns the browser id and Values of a sealed value, and which key
// opened it (0 is the newest). Anything tampered, expired, sealed for
// another cookie, or not a sealed value at all gives ok == false.
func (s *sealer) open(value string, now time.Time) (browserID string, values map[any]any, keyIdx int, ok bool) {
	if !strings.HasPrefix(value, sealedPrefix) || len(value) > maxSealedValue {
		return "", nil, 0, false
	}
	// Strict: one value per sealed session, no variants in the unused bits.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value[len(sealedPrefix):])
	if err != nil {
		return "", nil, 0, false
	}
	for i, aead := range s.aeads {
		ns := aead.NonceSize()
		if len(raw) < ns+aead.Overhead() {
			return "", nil, 0, false
		}
		plain, err := aead.Open(nil, raw[:ns], raw[ns:], s.ad)
		if err != nil {
			continue
		}
		if len(plain) < 8+browserIDLen {
			return "", nil, 0, false
		}
		sealed := time.Unix(int64(binary.BigEndian.Uint64(plain[:8])), 0)
		if now.Sub(sealed) > AnonymousMaxAge || sealed.Sub(now) > sealedClockSkew {
			return "", nil, 0, false
		}
		values, err = decodeValues(plain[8+browserIDLen:])
		if err != nil {
			return "", nil, 0, false
		}
		if values[UserIDKey] != nil || values[AdminIDKey] != nil {
			// Never sealed by this store: identified sessions are rows.
			return "", nil, 0, false
		}
		return base64.RawURLEncoding.EncodeToString(plain[8 : 8+browserIDLen]), values, i, true
	}
	return "", nil, 0, false
}
