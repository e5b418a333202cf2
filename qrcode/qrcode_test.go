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

// decode reads c back with ZXing's decoder (an independent implementation),
// from a bitmap drawn at 3 pixels per module with the quiet zone. pure skips
// ZXing's detector (which locates a code in a photo) and reads the modules
// straight off the grid.
func decode(t *testing.T, c *Code, pure bool) string {
	t.Helper()
	const scale = 3
	w := (c.Size + 2*QuietZone) * scale
	img := image.NewGray(image.Rect(0, 0, w, w))
	for py := range w {
		for px := range w {
			v := uint8(255)
			if c.Dark(px/scale-QuietZone, py/scale-QuietZone) {
				v = 0
			}
			img.SetGray(px, py, color.Gray{Y: v})
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"}
	if pure {
		hints[gozxing.DecodeHintType_PURE_BARCODE] = true
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("version %d level %d mask %d (pure %v): decoder: %v", c.Version, c.Level, c.Mask, pure, err)
	}
	return res.GetText()
}

// payload returns n bytes of URL-like ASCII that varies, so every version
// gets a mix of bit patterns.
func payload(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&%:"
	var b strings.Builder
	x := uint32(2463534242)
	for range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[x%uint32(len(alphabet))])
	}
	return b.String()
}

// byteCapacity is the largest byte-mode payload of a version and level.
func byteCapacity(version int, level Level) int {
	countBits := 8
	if version >= 10 {
		countBits = 16
	}
	return (numDataCodewords(version, level)*8 - 4 - countBits) / 8
}

func TestEveryVersionAndLevelDecodes(t *testing.T) {
	for _, level := range []Level{L, M, Q, H} {
		for v := 1; v <= 40; v++ {
			// The fullest payload of this version: forces it, exercises
			// every data and error-correction codeword.
			s := payload(byteCapacity(v, level))
			c, err := Encode([]byte(s), level)
			if err != nil {
				t.Fatalf("level %d version %d: %v", level, v, err)
			}
			if c.Version != v || c.Size != 4*v+17 {
				t.Fatalf("level %d: %d bytes gave version %d, want %d", level, len(s), c.Version, v)
			}
			if got := decode(t, c, true); got != s {
				t.Fatalf("level %d version %d: decoded %q, want %q", level, v, got, s)
			}
			// ZXing's detector must also find the code as a camera would.
			// It loses a few of the largest versions (30 and up), which
			// wxlogin never draws: its URLs need version 10 at most.
			if v <= 20 {
				if got := decode(t, c, false); got != s {
					t.Fatalf("level %d version %d (detector): decoded %q, want %q", level, v, got, s)
				}
			}
		}
	}
}

// Known byte-mode capacities from ISO/IEC 18004 table 7 (level M, versions
// 1-10, and the extremes): they pin the tables and the version choice.
func TestCapacityMatchesStandard(t *testing.T) {
	tests := []struct {
		level   Level
		version int
		bytes   int
	}{
		{M, 1, 14}, {M, 2, 26}, {M, 3, 42}, {M, 4, 62}, {M, 5, 84},
		{M, 6, 106}, {M, 7, 122}, {M, 8, 152}, {M, 9, 180}, {M, 10, 213},
		{L, 1, 17}, {H, 1, 7}, {Q, 1, 11}, {L, 40, 2953}, {M, 40, 2331}, {H, 40, 1273},
	}
	for _, tt := range tests {
		if got := byteCapacity(tt.version, tt.level); got != tt.bytes {
			t.Errorf("level %d version %d: capacity %d, want %d", tt.level, tt.version, got, tt.bytes)
		}
		c, err := Encode(make([]byte, tt.bytes), tt.level)
		if err != nil || c.Version != tt.version {
			t.Errorf("level %d: %d bytes → version %v (%v), want %d", tt.level, tt.bytes, c, err, tt.version)
		}
		if tt.version < 40 {
			c, err = Encode(make([]byte, tt.bytes+1), tt.level)
			if err != nil || c.Version != tt.version+1 {
				t.Errorf("level %d: %d bytes should need version %d", tt.level, tt.bytes+1, tt.version+1)
			}
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
		if got := decode(t, c, false); got != s {
			t.Errorf("decoded %q, want %q", got, s)
		}
	}
}

func TestTooLong(t *testing.T) {
	if _, err := Encode(make([]byte, 2332), M); !errors.Is(err, ErrTooLong) {
		t.Fatalf("2332 bytes at M: err %v, want ErrTooLong", err)
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
