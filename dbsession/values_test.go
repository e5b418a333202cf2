package dbsession

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/gob"
	"reflect"
	"strings"
	"testing"
	"time"
)

// legacyState stands for handlers' loginState in data the previous
// version wrote with gob (handlers registers the real one).
type legacyState struct {
	State, Next, Scope string
	Created            int64
	Attempt            int
	Refresh            bool
}

func init() { gob.Register([]legacyState{}) }

// gobValues is how the previous version encoded Values (store.go save and
// sealed.go seal, verbatim).
func gobValues(t testing.TB, values map[any]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestValuesRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		values  map[any]any
		columns bool
		want    map[any]any // nil: values
		size    int         // -1: not checked
	}{
		{name: "empty", values: map[any]any{}, size: 0},
		{name: "logged-in row: ids are columns", values: map[any]any{UserIDKey: int64(42)}, columns: true, want: map[any]any{}, size: 0},
		{name: "admin row", values: map[any]any{AdminIDKey: int64(3), "csrf": "tok"}, columns: true, want: map[any]any{"csrf": "tok"}, size: -1},
		{name: "ids kept outside rows", values: map[any]any{UserIDKey: int64(42)}, size: -1},
		{name: "every type", values: map[any]any{
			"s": "小明🐱", "e": "", "y": []byte{0, 1, 255}, "n": int64(-1 << 62), "z": int64(0), "t": true, "f": false,
		}, size: -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := encodeValues(nil, tc.values, tc.columns)
			if err != nil {
				t.Fatal(err)
			}
			if tc.size >= 0 && len(data) != tc.size {
				t.Fatalf("%d bytes, want %d", len(data), tc.size)
			}
			got, err := decodeValues(data)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = tc.values
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v\nwant %#v", got, want)
			}
			again, _ := encodeValues(nil, tc.values, tc.columns)
			if !bytes.Equal(again, data) {
				t.Fatal("the same values encoded to other bytes")
			}
		})
	}
}

func TestEncodeValuesRefusesOtherTypes(t *testing.T) {
	for name, values := range map[string]map[any]any{
		"int":            {"n": 1},
		"struct":         {"s": legacyState{}},
		"non-string key": {1: "x"},
		"long key":       {strings.Repeat("k", maxValuesKey+1): "x"},
		"too large":      {"s": strings.Repeat("x", maxValuesData)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := encodeValues(nil, values, true); err == nil {
				t.Fatal("encoded")
			}
		})
	}
}

func TestDecodeValuesRefusesCorruptData(t *testing.T) {
	good, err := encodeValues(nil, map[any]any{"a": "x", "b": int64(300)}, false)
	if err != nil {
		t.Fatal(err)
	}
	many := []byte{valuesV1}
	many = binary.AppendUvarint(many, maxValuesEntries+1)
	for i := range maxValuesEntries + 1 {
		many = append(many, 1, byte('A'+i), 't')
	}
	cases := map[string][]byte{
		"version only":      {valuesV1},
		"truncated":         good[:len(good)-1],
		"trailing byte":     append(bytes.Clone(good), 0),
		"unknown tag":       {valuesV1, 1, 1, 'a', 'q'},
		"duplicate key":     {valuesV1, 2, 1, 'a', 't', 1, 'a', 'f'},
		"keys out of order": {valuesV1, 2, 1, 'b', 't', 1, 'a', 'f'},
		"too many entries":  many,
		"huge count":        append([]byte{valuesV1}, binary.AppendUvarint(nil, 1<<62)...),
		"huge string":       append([]byte{valuesV1, 1, 1, 'a', 's'}, binary.AppendUvarint(nil, 1<<40)...),
		"key too long":      append(append([]byte{valuesV1, 1}, binary.AppendUvarint(nil, maxValuesKey+1)...), bytes.Repeat([]byte{'k'}, maxValuesKey+1)...),
		"bad varint":        {valuesV1, 1, 1, 'a', 'i', 0x80},
		"too large":         append([]byte{valuesV1}, make([]byte, maxValuesData)...),
		"not gob":           {0x05, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if v, err := decodeValues(data); err == nil {
				t.Fatalf("decoded %#v", v)
			}
		})
	}
}

// Rows and sealed cookies written by the previous version (gob) are read:
// they are live during a deploy.
func TestDecodeValuesReadsTheOldGob(t *testing.T) {
	states := []legacyState{{State: "0123456789abcdef0123456789abcdef", Next: "/profile?x=1", Scope: "snsapi_base", Created: 1764122400, Attempt: 2, Refresh: true}}
	for name, values := range map[string]map[any]any{
		"user row":     {UserIDKey: int64(7), "login": states},
		"admin row":    {AdminIDKey: int64(2), "csrf": "c5rf"},
		"pre-login":    {"login": states},
		"empty values": {},
	} {
		t.Run(name, func(t *testing.T) {
			old := gobValues(t, values)
			if old[0] == valuesV1 {
				t.Fatalf("gob data starts with the version byte")
			}
			got, err := decodeValues(old)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, values) {
				t.Fatalf("got %#v\nwant %#v", got, values)
			}
		})
	}
}

// A sealed cookie the previous version wrote still opens.
func TestSealedCookieOfThePreviousVersionOpens(t *testing.T) {
	sl, err := newSealer([][]byte{bytes.Repeat([]byte{1}, 32)}, "user", "s")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1764122400, 0)
	id := make([]byte, browserIDLen)
	_, _ = rand.Read(id)
	values := map[any]any{"login": []legacyState{{State: "s1", Next: "/", Scope: "snsapi_base", Created: now.Unix(), Attempt: 1}}}
	// sealed.go's seal before format v1, verbatim but for error handling.
	var plain bytes.Buffer
	_ = binary.Write(&plain, binary.BigEndian, now.Unix())
	plain.Write(id)
	plain.Write(gobValues(t, values))
	aead := sl.aeads[0]
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+plain.Len()+aead.Overhead())
	_, _ = rand.Read(out)
	out = aead.Seal(out, out, plain.Bytes(), sl.ad)
	cookie := sealedPrefix + base64.RawURLEncoding.EncodeToString(out)

	browser, got, _, ok := sl.open(cookie, now.Add(time.Minute))
	if !ok || browser != base64.RawURLEncoding.EncodeToString(id) || !reflect.DeepEqual(got, values) {
		t.Fatalf("ok %v, browser %q, values %#v", ok, browser, got)
	}
	// And what this version seals is format v1, smaller.
	v, err := sl.seal(browser, map[any]any{"login": []byte("states")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) >= len(cookie) {
		t.Fatalf("v1 cookie %d bytes, gob %d", len(v), len(cookie))
	}
	if _, got, _, ok := sl.open(v, now); !ok || !bytes.Equal(got["login"].([]byte), []byte("states")) {
		t.Fatalf("v1: ok %v, %#v", ok, got)
	}
}

// FuzzDecodeValues: corrupt data is an error, never a panic; what decodes
// in format v1 encodes again to bytes that decode to the same Values.
func FuzzDecodeValues(f *testing.F) {
	for _, v := range []map[any]any{
		{}, {"a": "x"}, {"csrf": "t", "n": int64(-5), "b": true, "y": []byte{1}},
	} {
		data, err := encodeValues(nil, v, false)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(gobValues(f, map[any]any{UserIDKey: int64(7), "login": []legacyState{{State: "s"}}}))
	f.Add([]byte{valuesV1, 1, 1, 'a', 's', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{0x7f, 0xff, 0x81})
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := decodeValues(data)
		if err != nil || len(data) == 0 || data[0] != valuesV1 {
			return
		}
		again, err := encodeValues(nil, values, false)
		if err != nil {
			t.Fatalf("decoded %#v, which does not encode: %v", values, err)
		}
		if back, err := decodeValues(again); err != nil || !reflect.DeepEqual(back, values) {
			t.Fatalf("decoded %x to %#v, encoded again to %x: %#v, %v", data, values, again, back, err)
		}
	})
}

// BenchmarkValues compares format v1 with the gob it replaced, for what
// the app stores: a pre-login session (one login state, as handlers
// encodes it, or as the struct gob encoded), a logged-in user row (the uid
// only), an admin row (aid and CSRF token).
func BenchmarkValues(b *testing.B) {
	state := legacyState{State: "0123456789abcdef0123456789abcdef", Next: "/profile", Scope: "snsapi_userinfo", Created: 1764122400, Attempt: 1}
	// handlers' encoding of that state: version, count, 3 strings, varints, flag.
	stateBytes := append([]byte{1, 1, 32}, state.State...)
	stateBytes = append(append(stateBytes, 8), state.Next...)
	stateBytes = append(append(stateBytes, 15), state.Scope...)
	stateBytes = append(binary.AppendVarint(stateBytes, state.Created), 1, 0)
	cases := []struct {
		name    string
		gob, v1 map[any]any
		columns bool
	}{
		{"prelogin", map[any]any{"login": []legacyState{state}}, map[any]any{"login": stateBytes}, false},
		{"user", map[any]any{UserIDKey: int64(123456)}, map[any]any{UserIDKey: int64(123456)}, true},
		{"admin", map[any]any{AdminIDKey: int64(1), "csrf": "0123456789abcdef0123456789abcdefghijklmnopq"},
			map[any]any{AdminIDKey: int64(1), "csrf": "0123456789abcdef0123456789abcdefghijklmnopq"}, true},
	}
	for _, tc := range cases {
		old := gobValues(b, tc.gob)
		v1, err := encodeValues(nil, tc.v1, tc.columns)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/gob/encode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var buf bytes.Buffer
				if err := gob.NewEncoder(&buf).Encode(tc.gob); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(old)), "bytes/session") // after: b.Loop drops earlier metrics
		})
		b.Run(tc.name+"/gob/decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				values := map[any]any{}
				if err := gob.NewDecoder(bytes.NewReader(old)).Decode(&values); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/v1/encode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeValues([]byte{}, tc.v1, tc.columns); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(v1)), "bytes/session")
		})
		b.Run(tc.name+"/v1/decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeValues(v1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
