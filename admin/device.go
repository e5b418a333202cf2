package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// The "known device" cookie marks a browser that has logged in to one admin
// account before. It is set at every successful login and carries that
// admin's id and a random device id, signed with keys derived from
// SESSION_KEYS. The login throttle judges a request that presents a valid one
// for the account being logged in to by that device's own failures only:
// failures of other addresses and devices — an attacker spreading guesses
// over many addresses, or sharing the admin's NAT or /64 — never lock a known
// device out (see countAttempt). It opens nothing by itself: the password is
// still checked, and the device's own wrong passwords lock it like an
// address (AccountDeviceKey, AccountMax).
const (
	deviceCookie = "wxl_admin_device"
	// deviceMaxAge is how long a browser stays known without logging in.
	deviceMaxAge = 365 * 24 * time.Hour
	// maxDeviceCookie bounds what is even decoded; real values are ~150 bytes.
	maxDeviceCookie = 256
	// maxDeviceCookies bounds how many same-named cookies are tried.
	maxDeviceCookies = 4
	// deviceKeyLabel separates the derived signing keys from the session
	// cookie's: a session cookie can never verify as a device cookie.
	deviceKeyLabel = "wxlogin admin known-device cookie v1"
)

// device is a verified known-device cookie.
type device struct {
	AdminID int64
	ID      string // 32 hex digits
}

func (a *Admin) deviceCookieName() string {
	if a.cfg.Secure() {
		return "__Secure-" + deviceCookie
	}
	return deviceCookie
}

// deviceCodecs are the device cookie's codecs, one per session key, newest
// first (the first signs, all verify, so rotating SESSION_KEYS keeps devices
// known). Built per call: it is a few HMACs on the login path only, next to
// a bcrypt check.
func (a *Admin) deviceCodecs() []*securecookie.SecureCookie {
	out := make([]*securecookie.SecureCookie, 0, len(a.cfg.SessionKeys))
	for _, k := range a.cfg.SessionKeys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(deviceKeyLabel))
		c := securecookie.New(m.Sum(nil), nil).SetSerializer(securecookie.NopEncoder{})
		c.MaxAge(int(deviceMaxAge / time.Second))
		c.MaxLength(maxDeviceCookie)
		out = append(out, c)
	}
	return out
}

// knownDevice returns the request's device cookie if one verifies and is
// bound to adminID, else nil. A cookie of another admin, tampered, expired
// or signed with a retired key counts as no cookie.
func (a *Admin) knownDevice(r *http.Request, adminID int64) *device {
	if adminID == 0 {
		return nil
	}
	codecs := a.deviceCodecs()
	name := a.deviceCookieName()
	for i, ck := range r.CookiesNamed(name) {
		if i >= maxDeviceCookies {
			break
		}
		if len(ck.Value) > maxDeviceCookie {
			continue
		}
		for _, c := range codecs {
			var raw []byte
			if c.Decode(name, ck.Value, &raw) != nil {
				continue
			}
			if d, ok := parseDevice(string(raw)); ok && d.AdminID == adminID {
				return &d
			}
		}
	}
	return nil
}

// setKnownDevice marks the browser as a known device of adminID for another
// deviceMaxAge, keeping its device id if it had one for this admin.
func (a *Admin) setKnownDevice(w http.ResponseWriter, prev *device, adminID int64) error {
	d := device{AdminID: adminID}
	if prev != nil && prev.AdminID == adminID {
		d.ID = prev.ID
	} else {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		d.ID = hex.EncodeToString(b)
	}
	name := a.deviceCookieName()
	v, err := a.deviceCodecs()[0].Encode(name, []byte(strconv.FormatInt(d.AdminID, 10)+":"+d.ID))
	if err != nil {
		return err
	}
	http.SetCookie(w, a.deviceCookieFor(name, v))
	return nil
}

// deviceCookieFor is the cookie as sent: only the admin pages see it, never
// scripts; Lax so that a link into /admin from elsewhere still carries it.
func (a *Admin) deviceCookieFor(name, value string) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/admin", MaxAge: int(deviceMaxAge / time.Second),
		HttpOnly: true, Secure: a.cfg.Secure(), SameSite: http.SameSiteLaxMode,
	}
}

// parseDevice reads "adminID:deviceID".
func parseDevice(s string) (device, bool) {
	idStr, devID, ok := strings.Cut(s, ":")
	if !ok || len(devID) != 32 {
		return device{}, false
	}
	if _, err := hex.DecodeString(devID); err != nil || strings.ToLower(devID) != devID {
		return device{}, false
	}
	id, err := strconv.ParseInt(idStr, 10, 64)
	if err != nil || id <= 0 {
		return device{}, false
	}
	return device{AdminID: id, ID: devID}, true
}
