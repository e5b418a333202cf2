package push

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Message is a push's fields that wxlogin uses (wechat-api.md §9). Other
// elements are ignored; unknown MsgTypes and Events are kept as they come.
type Message struct {
	ToUserName   string
	FromUserName string // the follower's openid
	CreateTime   int64  // seconds
	MsgType      string
	Event        string
	EventKey     string
	MenuID       string
	MsgID        string
	Content      string
	// Encrypt is the safe/compatible-mode envelope, base64.
	Encrypt string
}

// Field bounds. WeChat's values are far shorter; a longer one is not
// WeChat's and is refused rather than stored.
const (
	maxOpenID   = 128
	maxType     = 64
	maxEventKey = 2048 // VIEW carries the menu URL (WeChat allows 1024 bytes)
	maxMsgID    = 64
	maxContent  = 8 << 10
	maxEncrypt  = 60 << 10
)

// ErrMalformed is returned for a body that is not a push this package can
// read: not XML, missing fields, over-long fields, nested elements.
var ErrMalformed = errors.New("push: malformed XML")

// Parse reads a push's XML body. It is strict about shape (one <xml>
// element of flat children, each at most once, bounded) and lenient about
// content (unknown elements skipped, unknown types kept).
func Parse(body []byte) (Message, error) {
	var m Message
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	depth := 0
	var field string
	var text strings.Builder
	seen := map[string]bool{}
	rootSeen := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Message{}, ErrMalformed
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if t.Name.Local != "xml" || rootSeen {
					return Message{}, ErrMalformed
				}
				rootSeen = true
			case 2:
				field = t.Name.Local
				if seen[field] {
					return Message{}, ErrMalformed
				}
				seen[field] = true
				text.Reset()
			default:
				// Nested elements (ScanCodeInfo, SendPicsInfo, …) are not
				// needed; skip them whole.
				if err := d.Skip(); err != nil {
					return Message{}, ErrMalformed
				}
				depth--
			}
		case xml.CharData:
			if depth == 2 {
				if text.Len()+len(t) > maxEncrypt {
					return Message{}, ErrMalformed
				}
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				if err := m.set(field, text.String()); err != nil {
					return Message{}, err
				}
			}
			depth--
		case xml.Directive:
			// No DOCTYPE: WeChat never sends one, and entities are a way in.
			return Message{}, ErrMalformed
		}
	}
	if !rootSeen {
		return Message{}, ErrMalformed
	}
	return m, nil
}

func (m *Message) set(field, v string) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return ErrMalformed
	}
	if field != "Content" {
		v = strings.TrimSpace(v)
	}
	limit := maxType
	var dst *string
	switch field {
	case "ToUserName":
		dst, limit = &m.ToUserName, maxOpenID
	case "FromUserName":
		dst, limit = &m.FromUserName, maxOpenID
	case "MsgType":
		dst = &m.MsgType
	case "Event":
		dst = &m.Event
	case "EventKey":
		dst, limit = &m.EventKey, maxEventKey
	case "MenuId", "MenuID":
		dst = &m.MenuID
	case "MsgId", "MsgID":
		dst, limit = &m.MsgID, maxMsgID
	case "Content":
		dst, limit = &m.Content, maxContent
	case "Encrypt":
		dst, limit = &m.Encrypt, maxEncrypt
	case "CreateTime":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > 1e11 {
			return ErrMalformed
		}
		m.CreateTime = n
		return nil
	default:
		return nil
	}
	if len(v) > limit {
		return ErrMalformed
	}
	*dst = v
	return nil
}

// Validate checks a decrypted (or plaintext) push has what storing it needs.
func (m *Message) Validate() error {
	if m.FromUserName == "" || m.CreateTime == 0 || m.MsgType == "" || !printable(m.FromUserName) ||
		!printable(m.MsgType) || !printable(m.Event) || !printable(m.MsgID) || !printable(m.MenuID) {
		return ErrMalformed
	}
	return nil
}

// printable: no control characters (these values end up in logs and pages).
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// DedupeKey is the push's identity across retries: its MsgId for messages,
// else FromUserName + CreateTime + Event + EventKey for events (WeChat's own
// advice, plus EventKey so that two menu taps in one second both count). It
// is hashed: fixed length, and no openid or URL in an index key.
func (m *Message) DedupeKey() string {
	var s string
	if m.MsgID != "" {
		s = "m\x00" + m.MsgID
	} else {
		s = "e\x00" + m.FromUserName + "\x00" + strconv.FormatInt(m.CreateTime, 10) + "\x00" + m.Event + "\x00" + m.EventKey
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
