package qrcode

import (
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
)

// draw renders c with its quiet zone into a w×w image (w need not be a
// multiple of the module count: a page scales the SVG to any size), turned
// clockwise by turn quarter turns, as a camera held at that angle sees it.
func draw(c *Code, w, turn int) image.Image {
	n := c.Size + 2*QuietZone
	img := image.NewGray(image.Rect(0, 0, w, w))
	for py := range w {
		for px := range w {
			x, y := px, py
			for range turn {
				x, y = w-1-y, x
			}
			v := uint8(255)
			if c.Dark(x*n/w-QuietZone, y*n/w-QuietZone) {
				v = 0
			}
			img.SetGray(px, py, color.Gray{Y: v})
		}
	}
	return img
}

// decode reads img with ZXing's reader (an independent implementation).
// Without pure it goes through ZXing's detector, which locates the code as a
// camera would; pure skips the detector and reads the modules straight off
// the grid, which checks the encoding alone.
func decode(img image.Image, pure bool) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"}
	if pure {
		hints[gozxing.DecodeHintType_PURE_BARCODE] = true
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// read reads c drawn at scale pixels per module, upright.
func read(c *Code, scale int, pure bool) (string, error) {
	return decode(draw(c, (c.Size+2*QuietZone)*scale, 0), pure)
}

// payload returns n bytes of URL-like ASCII that varies, so every version
// gets a mix of bit patterns. It starts with a lower-case letter, so the
// encoder uses byte mode as it does for URLs.
func payload(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&%:"
	if n == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('h')
	x := uint32(2463534242)
	for range n - 1 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[x%uint32(len(alphabet))])
	}
	return b.String()
}

// Byte-mode capacities from ISO/IEC 18004 table 7 (level M, versions 1-10,
// which cover every URL wxlogin draws, and the extremes): a payload of
// exactly that many bytes gets that version at that level and reads back, one
// byte more needs the next version. This pins the level mapping and the
// version choice, and checks the library's output with the decoder.
func TestCapacityMatchesStandard(t *testing.T) {
	tests := []struct {
		level   Level
		version int
		bytes   int
	}{
		{M, 1, 14}, {M, 2, 26}, {M, 3, 42}, {M, 4, 62}, {M, 5, 84},
		{M, 6, 106}, {M, 7, 122}, {M, 8, 152}, {M, 9, 180}, {M, 10, 213},
		{L, 1, 17}, {H, 1, 7}, {Q, 1, 11}, {L, 40, 2953}, {M, 40, 2331}, {Q, 40, 1663}, {H, 40, 1273},
	}
	for _, tt := range tests {
		s := payload(tt.bytes)
		c, err := Encode([]byte(s), tt.level)
		if err != nil {
			t.Fatalf("level %d, %d bytes: %v", tt.level, tt.bytes, err)
		}
		if c.Version != tt.version || c.Size != 4*tt.version+17 || c.Level != tt.level {
			t.Errorf("level %d, %d bytes: version %d size %d level %d, want version %d", tt.level, tt.bytes, c.Version, c.Size, c.Level, tt.version)
		}
		if got, err := read(c, 3, true); got != s {
			t.Errorf("level %d version %d: read %q, %v", tt.level, c.Version, got, err)
		}
		c, err = Encode([]byte(payload(tt.bytes+1)), tt.level)
		switch {
		case tt.version == 40 && !errors.Is(err, ErrTooLong):
			t.Errorf("level %d: %d bytes: err %v, want ErrTooLong", tt.level, tt.bytes+1, err)
		case tt.version < 40 && (err != nil || c.Version != tt.version+1):
			t.Errorf("level %d: %d bytes should need version %d (%v)", tt.level, tt.bytes+1, tt.version+1, err)
		}
	}
}

func TestTypicalURLsAndUTF8(t *testing.T) {
	for _, s := range []string{
		"https://wx.example.com/wechat/entry?next=%2Fprofile",
		"http://127.0.0.1:8080/wechat/entry?next=%2Fprofile%3Ftab%3D1",
		"微信登录 ✓ 小明🐱🌸✨",
		"",
	} {
		c, err := Encode([]byte(s), M)
		if err != nil {
			t.Fatal(err)
		}
		if s == "" {
			continue // ZXing refuses empty payloads; the encoding is still valid
		}
		if got, err := read(c, 3, false); got != s {
			t.Errorf("read %q (%v), want %q", got, err, s)
		}
	}
}

func TestRefusesWhatItCannotEncode(t *testing.T) {
	if _, err := Encode(make([]byte, 2332), M); !errors.Is(err, ErrTooLong) {
		t.Errorf("2332 bytes at M: err %v, want ErrTooLong", err)
	}
	if _, err := Encode([]byte("a"), Level(4)); err == nil {
		t.Error("level 4 was accepted")
	}
}

func TestSVG(t *testing.T) {
	c, err := Encode([]byte("https://example.com/"), M)
	if err != nil {
		t.Fatal(err)
	}
	svg := c.SVG(`扫码 <"&>`)
	w := c.Size + 2*QuietZone
	for _, want := range []string{
		`viewBox="0 0 33 33"`, `role="img"`, `aria-label="扫码 &lt;&#34;&amp;&gt;"`, `<path fill="#000" d="M4 4h7v1h-7z`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q (size %d): %.200s", want, w, svg)
		}
	}
	if strings.Contains(svg, "style") {
		t.Error("SVG must not carry style attributes (CSP)")
	}
}
