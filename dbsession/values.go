package dbsession

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"slices"
)

// Session data (a row's data column, the Values part of a sealed cookie) is
// encoded in a small format of the store's own instead of gob: gob sends
// its type information with every fresh Encoder and compiles it again in
// every fresh Decoder, and one session is one Encoder or Decoder. That was
// 7–8% of wxlogin's CPU per login (issue 12).
//
// Format v1: the byte valuesV1, a uvarint count of entries, then per entry
// the key (uvarint length, bytes), a type tag, and the value:
//
//	's' string  uvarint length, bytes
//	'y' []byte  uvarint length, bytes
//	'i' int64   zigzag varint
//	't' true, 'f' false (bool, no payload)
//
// Keys are strings, entries sorted by key (the same Values give the same
// bytes). Only these four types are stored: a package that keeps a value of
// its own type encodes it to []byte itself (handlers does so for its login
// states), so the store never needs to know another package's types. The
// user and admin ids are not in the data of a row: they are its user_id and
// admin_id columns, put back into Values on load, so a logged-in session
// holding nothing else stores zero bytes.
//
// Data written by the previous version is gob. A gob stream starts with a
// uvarint byte count, whose first byte is 0x00–0x7f or 0xf8–0xff, never
// valuesV1 (0x81), so the first byte tells the formats apart and data that
// was live during the deploy still loads.
const valuesV1 byte = 0x81

// Bounds on what is decoded, so a corrupt row or a forged value is an
// error, never a huge allocation. Data longer than maxValuesData is refused
// before it is looked at; no length inside may exceed what remains.
const (
	maxValuesData    = 16 << 10
	maxValuesEntries = 32
	maxValuesKey     = 64
)

var (
	errValuesCorrupt = errors.New("dbsession: corrupt session data")
	errValuesTooBig  = errors.New("dbsession: session data too large")
)

// encodeValues appends values in format v1 to dst. With columns set (a
// row's data), the user and admin ids are left out: they are columns. An
// empty result (nothing left) is returned as dst unchanged, not even the
// version byte. A key that is not a string, or a value of another type than
// the four above, is an error: a programming error, never the browser's.
func encodeValues(dst []byte, values map[any]any, columns bool) ([]byte, error) {
	var keysBuf [8]string
	keys := keysBuf[:0]
	for k, v := range values {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("dbsession: session key %v (%T) is not a string", k, k)
		}
		if columns && (ks == UserIDKey || ks == AdminIDKey) {
			if _, ok := v.(int64); ok {
				continue
			}
		}
		keys = append(keys, ks)
	}
	if len(keys) == 0 {
		return dst, nil
	}
	if len(keys) > maxValuesEntries {
		return nil, fmt.Errorf("dbsession: %d session values, at most %d", len(keys), maxValuesEntries)
	}
	slices.Sort(keys)
	dst = append(dst, valuesV1)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		if len(k) > maxValuesKey {
			return nil, fmt.Errorf("dbsession: session key of %d bytes, at most %d", len(k), maxValuesKey)
		}
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		switch v := values[k].(type) {
		case string:
			dst = append(dst, 's')
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		case []byte:
			dst = append(dst, 'y')
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		case int64:
			dst = append(dst, 'i')
			dst = binary.AppendVarint(dst, v)
		case bool:
			if v {
				dst = append(dst, 't')
			} else {
				dst = append(dst, 'f')
			}
		default:
			return nil, fmt.Errorf("dbsession: session value %q of type %T: store string, []byte, int64 or bool", k, v)
		}
	}
	if len(dst) > maxValuesData {
		return nil, errValuesTooBig
	}
	return dst, nil
}

// decodeValues reads data in format v1, or gob as written by the previous
// version. Empty data is an empty map.
func decodeValues(data []byte) (map[any]any, error) {
	if len(data) == 0 {
		return map[any]any{}, nil
	}
	if len(data) > maxValuesData {
		return nil, errValuesTooBig
	}
	if data[0] != valuesV1 {
		return decodeGobValues(data)
	}
	d := valuesDecoder{b: data[1:]}
	n := d.uvarint()
	if d.err != nil || n > maxValuesEntries {
		return nil, errValuesCorrupt
	}
	values := make(map[any]any, n)
	var prev []byte
	for i := range n {
		kb := d.bytes(maxValuesKey)
		// Keys strictly ascending, as written: no duplicates, one
		// encoding per Values.
		if d.err != nil || (i > 0 && bytes.Compare(kb, prev) <= 0) {
			return nil, errValuesCorrupt
		}
		prev = kb
		k := string(kb)
		var v any
		switch d.byte() {
		case 's':
			v = string(d.bytes(len(d.b)))
		case 'y':
			v = bytes.Clone(d.bytes(len(d.b)))
		case 'i':
			v = d.varint()
		case 't':
			v = true
		case 'f':
			v = false
		default:
			return nil, errValuesCorrupt
		}
		if d.err != nil {
			return nil, errValuesCorrupt
		}
		values[k] = v
	}
	if len(d.b) != 0 {
		return nil, errValuesCorrupt
	}
	return values, nil
}

// decodeGobValues reads what the previous version wrote. The types inside
// (handlers' login states) are registered with gob by their packages, as
// before; data is bounded by decodeValues.
// gob turns its own failures into errors; anything else it might panic on
// for corrupt input is an error here too, never a crashed request.
func decodeGobValues(data []byte) (values map[any]any, err error) {
	defer func() {
		if recover() != nil {
			values, err = nil, errValuesCorrupt
		}
	}()
	values = map[any]any{}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&values); err != nil {
		return nil, err
	}
	return values, nil
}

// valuesDecoder reads format v1; the first error sticks.
type valuesDecoder struct {
	b   []byte
	err error
}

func (d *valuesDecoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errValuesCorrupt
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *valuesDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errValuesCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *valuesDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errValuesCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes reads a uvarint length (at most max and what remains) and that many
// bytes, aliasing the input.
func (d *valuesDecoder) bytes(max int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) || n > uint64(len(d.b)) {
		d.err = errValuesCorrupt
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
