// Package qrcode encodes text as a QR Code and draws it as SVG.
//
// wxlogin needs one thing from QR codes: a code a phone can scan on the
// "open in WeChat" page and the admin menu page, drawn on the server so the
// page needs no script and no other origin. The matrix — data encoding,
// Reed–Solomon, placement, masking — comes from github.com/yeqown/go-qrcode/v2
// (MIT, maintained); this package only maps its levels and draws the SVG
// (svg.go).
package qrcode

import (
	"errors"
	"fmt"

	qr "github.com/yeqown/go-qrcode/v2"
)

// Level is the error correction level: the share of the code that may be
// damaged or covered and still decode.
type Level int

// The four levels, weakest first.
const (
	L Level = iota // about 7%
	M              // about 15%
	Q              // about 25%
	H              // about 30%
)

// levels maps Level to the library's option.
var levels = [...]qr.EncodeOption{
	L: qr.WithErrorCorrectionLevel(qr.ErrorCorrectionLow),
	M: qr.WithErrorCorrectionLevel(qr.ErrorCorrectionMedium),
	Q: qr.WithErrorCorrectionLevel(qr.ErrorCorrectionQuart),
	H: qr.WithErrorCorrectionLevel(qr.ErrorCorrectionHighest),
}

// ErrTooLong is returned when the data does not fit version 40 at the level.
var ErrTooLong = errors.New("qrcode: data too long")

// Code is an encoded QR code: Size×Size modules, dark or light, without the
// quiet zone.
type Code struct {
	Size    int
	Version int
	Level   Level
	modules [][]bool // [y][x], true = dark
}

// Dark reports whether the module at column x, row y is dark; outside the
// symbol (the quiet zone) everything is light.
func (c *Code) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= c.Size || y >= c.Size {
		return false
	}
	return c.modules[y][x]
}

// Encode returns the smallest QR code holding data in byte mode at level.
// The bytes go in as they are, without an ECI header: scanners read a URL's
// ASCII (and UTF-8 text) that way.
func Encode(data []byte, level Level) (*Code, error) {
	if level < L || level > H {
		return nil, errors.New("qrcode: bad level")
	}
	q, err := qr.NewWith(data, qr.WithEncodingMode(qr.EncModeByte), levels[level])
	if err != nil {
		// In byte mode at a valid level, the only failure is data that fits
		// no version.
		return nil, fmt.Errorf("%w: %v", ErrTooLong, err)
	}
	var m matrix
	if err := q.Save(&m); err != nil {
		return nil, err
	}
	size := len(m.bits)
	return &Code{Size: size, Version: (size - 17) / 4, Level: level, modules: m.bits}, nil
}

// matrix is a qr.Writer that keeps the module matrix instead of drawing it.
type matrix struct{ bits [][]bool }

func (m *matrix) Write(mat qr.Matrix) error { m.bits = mat.Bitmap(); return nil }
func (m *matrix) Close() error              { return nil }
