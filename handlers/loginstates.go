package handlers

import (
	"encoding/binary"
	"errors"

	"github.com/gorilla/sessions"
)

// The login states travel in the session as bytes of their own small
// format: the session store keeps strings, numbers and bytes only (no gob,
// no types of other packages), and this format costs a few hundred
// nanoseconds where gob compiled the type for every request.
//
// Format v1: the byte loginStatesV1, a uvarint count, then per state State,
// Next and Scope (each a uvarint length and bytes), Created (zigzag
// varint), Attempt (uvarint) and Refresh (one byte, 0 or 1).
//
// Sessions written by the previous version hold []loginState decoded by
// gob (registered below); session() turns them into this format, so they
// keep working through a deploy.
const loginStatesV1 byte = 1

// Bounds on decoding (the browser cannot forge the sealed cookie or the
// row, but a corrupt value must be an error, never a panic or a large
// allocation). They are generous next to what entry writes (hex states of
// 32 bytes, SafeNext's 512 bytes, five states): the encoder skips a state
// beyond them rather than write bytes the decoder would refuse.
const (
	maxStateField     = 64
	maxStateNext      = 1024
	maxStatesDecoded  = 16
	maxStatesEncoding = 8 << 10
	maxStateAttempt   = 255
)

var errLoginStatesCorrupt = errors.New("handlers: corrupt login states")

func encodeLoginStates(states []loginState) []byte {
	n := 0
	for _, ls := range states {
		if encodable(ls) && n < maxStatesDecoded {
			n++
		}
	}
	b := make([]byte, 0, 2+n*64)
	b = append(b, loginStatesV1)
	b = binary.AppendUvarint(b, uint64(n))
	for _, ls := range states {
		if n == 0 {
			break
		}
		if !encodable(ls) {
			continue
		}
		n--
		b = appendString(b, ls.State)
		b = appendString(b, ls.Next)
		b = appendString(b, ls.Scope)
		b = binary.AppendVarint(b, ls.Created)
		b = binary.AppendUvarint(b, uint64(ls.Attempt))
		if ls.Refresh {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

func encodable(ls loginState) bool {
	return len(ls.State) <= maxStateField && len(ls.Next) <= maxStateNext && len(ls.Scope) <= maxStateField &&
		ls.Attempt >= 0 && ls.Attempt <= maxStateAttempt
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func decodeLoginStates(b []byte) ([]loginState, error) {
	if len(b) == 0 || len(b) > maxStatesEncoding || b[0] != loginStatesV1 {
		return nil, errLoginStatesCorrupt
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxStatesDecoded {
		return nil, errLoginStatesCorrupt
	}
	b = b[k:]
	out := make([]loginState, 0, n)
	for range n {
		var ls loginState
		var ok bool
		if ls.State, b, ok = readString(b, maxStateField); !ok {
			return nil, errLoginStatesCorrupt
		}
		if ls.Next, b, ok = readString(b, maxStateNext); !ok {
			return nil, errLoginStatesCorrupt
		}
		if ls.Scope, b, ok = readString(b, maxStateField); !ok {
			return nil, errLoginStatesCorrupt
		}
		created, k := binary.Varint(b)
		if k <= 0 {
			return nil, errLoginStatesCorrupt
		}
		b = b[k:]
		attempt, k := binary.Uvarint(b)
		if k <= 0 || attempt > maxStateAttempt {
			return nil, errLoginStatesCorrupt
		}
		b = b[k:]
		if len(b) == 0 || b[0] > 1 {
			return nil, errLoginStatesCorrupt
		}
		ls.Created, ls.Attempt, ls.Refresh = created, int(attempt), b[0] == 1
		b = b[1:]
		out = append(out, ls)
	}
	if len(b) != 0 {
		return nil, errLoginStatesCorrupt
	}
	return out, nil
}

func readString(b []byte, max int) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(max) || n > uint64(len(b)-k) {
		return "", nil, false
	}
	b = b[k:]
	return string(b[:n]), b[n:], true
}

// loginStates returns the session's login states; none when they are
// missing or unreadable (the login starts over, as for an expired state).
func loginStates(s *sessions.Session) []loginState {
	switch v := s.Values[loginStatesKey].(type) {
	case []byte:
		ls, err := decodeLoginStates(v)
		if err != nil {
			return nil
		}
		return ls
	case []loginState: // read from a session the previous version wrote
		return v
	}
	return nil
}

// setLoginStates stores states in the session; none removes the key, so a
// logged-in session with no login in flight carries no data of its own.
func setLoginStates(s *sessions.Session, states []loginState) {
	if len(states) == 0 {
		delete(s.Values, loginStatesKey)
		return
	}
	s.Values[loginStatesKey] = encodeLoginStates(states)
}

// upgradeLoginStates rewrites states the previous version stored (gob's
// []loginState) in this format, so that any later save can store them.
func upgradeLoginStates(s *sessions.Session) {
	if v, ok := s.Values[loginStatesKey].([]loginState); ok {
		setLoginStates(s, v)
	}
}
