package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"wxlogin/qrcode"
)

// decodeQR must read a valid code that ZXing's detector misses upright (a
// finder look-alike in the data, met before the real bottom-left finder), as
// a camera that moves does. This URL's code, drawn as the page draws it (400
// pixels: 200 CSS pixels on a 2x screen, in a white card on a grey page), is
// one: the browser test failed like this for some random ports.
func TestDecodeQRReadsACodeTheDetectorMissesUpright(t *testing.T) {
	const url = "http://127.0.0.1:45974/wechat/entry?next=%2Fprofile"
	c, err := qrcode.Encode([]byte(url), qrcode.M)
	if err != nil {
		t.Fatal(err)
	}
	const side, card, margin = 400, 432, 100
	img := image.NewGray(image.Rect(0, 0, card+2*margin, card+2*margin))
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			img.SetGray(x, y, color.Gray{Y: 0xed}) // the page
		}
	}
	n := c.Size + 2*qrcode.QuietZone
	off := margin + (card-side)/2
	for y := margin; y < margin+card; y++ {
		for x := margin; x < margin+card; x++ {
			v := uint8(0xff) // the card
			px, py := x-off, y-off
			if px >= 0 && py >= 0 && px < side && py < side && c.Dark(px*n/side-qrcode.QuietZone, py*n/side-qrcode.QuietZone) {
				v = 0
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	if got, err := readQR(img); err == nil && got == url {
		t.Fatalf("the detector now reads this code upright: pick another URL that it misses, or this test checks nothing")
	}
	var shot bytes.Buffer
	if err := png.Encode(&shot, img); err != nil {
		t.Fatal(err)
	}
	if got := decodeQR(t, shot.Bytes()); got != url {
		t.Errorf("read %q, want %q", got, url)
	}
}
