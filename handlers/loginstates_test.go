package handlers

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"reflect"
	"strings"
	"testing"

	"github.com/gorilla/sessions"
)

func TestLoginStatesRoundTrip(t *testing.T) {
	full := loginState{State: "0123456789abcdef0123456789abcdef", Next: "/" + strings.Repeat("n", 511), Scope: "snsapi_userinfo",
		Created: 1764122400, Attempt: 2, Refresh: true}
	cases := map[string][]loginState{
		"one":                {{State: "a", Next: "/profile", Scope: "snsapi_base", Created: 1, Attempt: 1}},
		"five, longest next": {full, full, full, full, full},
		"zero values":        {{}},
		"negative created":   {{State: "s", Created: -5, Attempt: 1}},
	}
	for name, states := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := decodeLoginStates(encodeLoginStates(states))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, states) {
				t.Fatalf("got %+v\nwant %+v", got, states)
			}
		})
	}
}

// A state beyond the decoder's bounds is left out rather than written as
// bytes that would never decode.
func TestLoginStatesEncoderKeepsWithinTheBounds(t *testing.T) {
	ok := loginState{State: "s", Next: "/", Attempt: 1}
	bad := []loginState{
		{State: strings.Repeat("s", maxStateField+1)},
		{Next: strings.Repeat("n", maxStateNext+1)},
		{Scope: strings.Repeat("c", maxStateField+1)},
		{Attempt: -1},
		{Attempt: maxStateAttempt + 1},
	}
	got, err := decodeLoginStates(encodeLoginStates(append(bad, ok)))
	if err != nil || !reflect.DeepEqual(got, []loginState{ok}) {
		t.Fatalf("%+v, %v", got, err)
	}
	many := make([]loginState, maxStatesDecoded+3)
	if got, err := decodeLoginStates(encodeLoginStates(many)); err != nil || len(got) != maxStatesDecoded {
		t.Fatalf("%d states, %v", len(got), err)
	}
}

func TestDecodeLoginStatesRefusesCorruptBytes(t *testing.T) {
	good := encodeLoginStates([]loginState{{State: "s", Next: "/", Scope: "snsapi_base", Created: 9, Attempt: 1}})
	cases := map[string][]byte{
		"empty":         nil,
		"other version": append([]byte{2}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"trailing":      append(bytes.Clone(good), 0),
		"too many":      {loginStatesV1, maxStatesDecoded + 1},
		"huge count":    append([]byte{loginStatesV1}, binary.AppendUvarint(nil, 1<<60)...),
		"huge string":   append([]byte{loginStatesV1, 1}, binary.AppendUvarint(nil, 1<<40)...),
		"refresh 2":     append(bytes.Clone(good[:len(good)-1]), 2),
		"too large":     append([]byte{loginStatesV1}, make([]byte, maxStatesEncoding)...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if ls, err := decodeLoginStates(b); err == nil {
				t.Fatalf("decoded %+v", ls)
			}
		})
	}
}

// Sessions the previous version wrote hold []loginState (gob): they are
// read, and rewritten in this format before any save.
func TestLoginStatesOfThePreviousVersion(t *testing.T) {
	states := []loginState{{State: "s1", Next: "/profile", Scope: "snsapi_base", Created: 1764122400, Attempt: 1}}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(map[any]any{loginStatesKey: states}); err != nil {
		t.Fatal(err)
	}
	values := map[any]any{}
	if err := gob.NewDecoder(&buf).Decode(&values); err != nil {
		t.Fatal(err)
	}
	s := &sessions.Session{Values: values}
	if got := loginStates(s); !reflect.DeepEqual(got, states) {
		t.Fatalf("legacy: %+v", got)
	}
	upgradeLoginStates(s)
	if _, ok := s.Values[loginStatesKey].([]byte); !ok {
		t.Fatalf("not upgraded: %T", s.Values[loginStatesKey])
	}
	if got := loginStates(s); !reflect.DeepEqual(got, states) {
		t.Fatalf("upgraded: %+v", got)
	}
	setLoginStates(s, nil)
	if _, ok := s.Values[loginStatesKey]; ok {
		t.Fatal("no states left, but the key stays")
	}
}

func FuzzDecodeLoginStates(f *testing.F) {
	f.Add(encodeLoginStates([]loginState{{State: "s", Next: "/p", Scope: "snsapi_base", Created: 1, Attempt: 1, Refresh: true}}))
	f.Add(encodeLoginStates(nil))
	f.Add([]byte{loginStatesV1, 3, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		states, err := decodeLoginStates(b)
		if err != nil {
			return
		}
		again, err := decodeLoginStates(encodeLoginStates(states))
		if err != nil || !reflect.DeepEqual(again, states) {
			t.Fatalf("decoded %+v; encoded again: %+v, %v", states, again, err)
		}
	})
}
