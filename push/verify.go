package push

import (
	"net/url"
	"strconv"
	"time"

	"wxlogin/msgcrypt"
)

// Mode is how a push arrived.
type Mode string

const (
	ModePlain      Mode = "plaintext"
	ModeCompatible Mode = "compatible" // plaintext fields and <Encrypt>; only the latter is trusted
	ModeSafe       Mode = "safe"
)

// Reason is why a delivery was refused; a fixed set, used as a metrics label.
type Reason string

const (
	ReasonSignature    Reason = "signature"     // signature missing or wrong (wrong Token)
	ReasonTimestamp    Reason = "timestamp"     // outside ±MaxSkew
	ReasonPlaintext    Reason = "plaintext"     // AES key set, push not encrypted
	ReasonMsgSignature Reason = "msg_signature" // safe mode: Encrypt not signed by the Token
	ReasonAppID        Reason = "appid"         // decrypted, but sealed for another account
	ReasonReplay       Reason = "replay"        // nonce seen with another body
	ReasonTooLarge     Reason = "too_large"     // body over MaxBody
	ReasonMalformed    Reason = "malformed"     // not a push
)

// MaxBody bounds a push's body. WeChat's are a few KiB.
const MaxBody = 64 << 10

// MaxSkew is how far a push's timestamp may be from now: a captured push
// cannot be replayed later than this.
const MaxSkew = 5 * time.Minute

// query is the part of a push's URL that is checked.
type query struct {
	signature, timestamp, nonce, encryptType, msgSignature string
}

func parseQuery(q url.Values) query {
	return query{
		signature: q.Get("signature"), timestamp: q.Get("timestamp"), nonce: q.Get("nonce"),
		encryptType: q.Get("encrypt_type"), msgSignature: q.Get("msg_signature"),
	}
}

// checkQuery is everything that can be checked before reading the body: the
// signature over Token, timestamp and nonce; the timestamp's freshness; and,
// with an AES key, that a push (post) claims to be encrypted.
func (s *Service) checkQuery(q query, post bool) Reason {
	if len(q.timestamp) > 20 || len(q.nonce) > 64 || !msgcrypt.Verify(q.signature, s.token, q.timestamp, q.nonce) {
		return ReasonSignature
	}
	ts, err := strconv.ParseInt(q.timestamp, 10, 64)
	if err != nil {
		return ReasonTimestamp
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return ReasonTimestamp
	}
	if post && s.cipher != nil && (q.encryptType != "aes" || q.msgSignature == "") {
		return ReasonPlaintext
	}
	return ""
}

// open turns a verified query and its body into the message to store.
func (s *Service) open(q query, body []byte) (Message, Mode, Reason) {
	outer, err := Parse(body)
	if err != nil {
		return Message{}, "", ReasonMalformed
	}
	if s.cipher == nil {
		// Without a key, a compatible-mode push is read by its plaintext
		// fields (its signature covers only the query, as in plaintext
		// mode); a safe-mode one has none and is malformed here.
		if err := outer.Validate(); err != nil {
			return Message{}, "", ReasonMalformed
		}
		outer.Encrypt = ""
		return outer, ModePlain, ""
	}
	if outer.Encrypt == "" {
		return Message{}, "", ReasonPlaintext
	}
	if !msgcrypt.Verify(q.msgSignature, s.token, q.timestamp, q.nonce, outer.Encrypt) {
		return Message{}, "", ReasonMsgSignature
	}
	plain, err := s.cipher.Decrypt(outer.Encrypt)
	if err == msgcrypt.ErrAppID {
		return Message{}, "", ReasonAppID
	}
	if err != nil {
		return Message{}, "", ReasonMalformed
	}
	inner, err := Parse(plain)
	if err != nil || inner.Encrypt != "" || inner.Validate() != nil {
		return Message{}, "", ReasonMalformed
	}
	mode := ModeSafe
	if outer.FromUserName != "" || outer.MsgType != "" {
		mode = ModeCompatible
	}
	return inner, mode, ""
}
