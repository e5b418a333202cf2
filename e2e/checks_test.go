package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"
)

// consentPath is the simulator's authorize page (in simulator mode).
const consentPath = "/_sim/connect/oauth2/authorize"

// choose taps the consent page's row for a radio choice, as a thumb would,
// and checks that it took.
func (b *browser) choose(name, value string) {
	b.t.Helper()
	b.run(chromedp.Click(chromedp.CSS(fmt.Sprintf(`label.cell:has(input[name=%q][value=%q])`, name, value))))
	if !eval[bool](b, fmt.Sprintf(`document.querySelector('input[name=%q][value=%q]').checked`, name, value)) {
		b.t.Fatalf("tapping %s=%s did not select it", name, value)
	}
}

// checkPage checks what every page must do for people, whatever it says:
// Chinese, a title and a heading, alt text on every image, a name on every
// control, touch targets of at least 44×44 CSS pixels, and no sideways
// scrolling from 320 px phones to desktop widths, and WCAG AA contrast of
// text and controls (checkContrast).
func (b *browser) checkPage(name string) {
	b.t.Helper()
	b.checkContrast(name)
	if lang := eval[string](b, `document.documentElement.lang`); lang != "zh-CN" {
		b.t.Errorf("%s: lang=%q, want zh-CN", name, lang)
	}
	if eval[string](b, `document.title.trim()`) == "" || eval[int](b, `document.querySelectorAll('h1').length`) != 1 {
		b.t.Errorf("%s: want a title and exactly one h1", name)
	}
	for _, bad := range eval[[]string](b, `[...document.images].filter(i => !i.hasAttribute('alt')).map(i => i.outerHTML.slice(0, 100))`) {
		b.t.Errorf("%s: image without alt: %s", name, bad)
	}
	for _, bad := range eval[[]string](b, `[...document.querySelectorAll('a[href], button')]
		.filter(e => !(e.textContent.trim() || e.getAttribute('aria-label')))
		.map(e => e.outerHTML.slice(0, 100))`) {
		b.t.Errorf("%s: control without a name: %s", name, bad)
	}
	for _, bad := range eval[[]string](b, `[...document.querySelectorAll('a[href], button, label')]
		.map(e => [e, e.getBoundingClientRect()])
		.filter(([e, r]) => r.width > 0 && (r.width < 44 || r.height < 44))
		.map(([e, r]) => Math.round(r.width) + '×' + Math.round(r.height) + ' ' + e.outerHTML.slice(0, 80))`) {
		b.t.Errorf("%s: touch target under 44×44: %s", name, bad)
	}
	for _, w := range []struct{ width, height int64 }{{320, 568}, {1280, 800}} {
		b.emulate(w.width, w.height)
		if over := eval[int](b, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
			widest := eval[string](b, `(() => { let w = null;
				for (const e of document.body.querySelectorAll('*')) { const r = e.getBoundingClientRect();
					if (r.right <= window.innerWidth + 1 || (w && r.right <= w[1])) continue;
					let clipped = false; for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
						if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) { clipped = true; break; }
					if (!clipped) w = [e, r.right]; }
				return w ? w[0].outerHTML.slice(0, 120) : ''; })()`)
			b.t.Errorf("%s at %d px: %d px wider than the screen (widest: %s)", name, w.width, over, widest)
		}
	}
	b.emulate(b.dev.width, b.dev.height)
}

// checkDark renders the page in dark mode: the background must turn dark
// and the text light, and nothing may break.
func (b *browser) checkDark(name string) {
	b.t.Helper()
	b.darkMode(true)
	defer b.darkMode(false)
	bg := eval[string](b, `getComputedStyle(document.body).backgroundColor`)
	fg := eval[string](b, `getComputedStyle(document.body).color`)
	if bg != "rgb(17, 17, 17)" || !strings.HasPrefix(fg, "rgba(255, 255, 255") {
		b.t.Errorf("%s in dark mode: background %s, text %s", name, bg, fg)
	}
	b.checkContrast(name + " (dark)")
	b.shot(name + "-dark")
}

// decodeQR reads the QR code in a screenshot, as a phone's camera would:
// upright first, then turned a quarter at a time. One upright frame is not
// enough: when a code's data happens to hold a finder look-alike that ZXing's
// detector meets before the real bottom-left finder (it stops at the first
// three candidates), that frame fails although the code is valid — for a few
// per thousand entry URLs, whichever encoder, so the test failed for some
// random ports. Seen from another side the code reads, as a camera that
// moves does.
func decodeQR(t *testing.T, shot []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	for turn := range 4 {
		var got string
		if got, err = readQR(img); err == nil {
			return got
		}
		if turn < 3 {
			img = quarterTurn(img)
		}
	}
	t.Fatalf("no readable QR code in the screenshot, whichever way up: %v", err)
	return ""
}

// readQR reads the QR code in img as it lies, with ZXing's detector.
func readQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_TRY_HARDER: true,
	})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// quarterTurn returns img turned a quarter clockwise.
func quarterTurn(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(b.Max.Y-1-y, x-b.Min.X, img.At(x, y))
		}
	}
	return out
}
