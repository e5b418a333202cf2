package qrcode

import (
	"fmt"
	"strings"
	"testing"
)

// entryURLs are the URLs the open-in-WeChat page and the admin menu page
// draw: the entry URL on 127.0.0.1 with test ports across 1024-65535 (a step
// coprime with 10, so every digit lands in every position), a few
// real-looking hosts, and next= values up to 200 bytes, so every version
// wxlogin draws (3 to 11 at level M) is hit. The step keeps the test to
// seconds; the whole port range was run once (see readAsCamera).
func entryURLs(short bool) []string {
	step, lenStep := 499, 7 // about 250 URLs: seconds, also under the race detector
	if short {
		step, lenStep = 997, 10
	}
	var urls []string
	for port := 1024; port <= 65535; port += step {
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d/wechat/entry?next=%%2Fprofile", port))
	}
	for _, base := range []string{
		"https://wx.example.com",
		"https://login.example.com.cn",
		"http://[::1]:8080",
		"http://localhost:34567",
	} {
		for n := 0; n <= 200; n += lenStep {
			urls = append(urls, base+"/wechat/entry?next=%2F"+strings.Repeat("p", n))
		}
	}
	return urls
}

// readAsCamera reads c drawn w pixels wide the way a phone does: upright
// first, then turned a quarter at a time. One upright frame is not enough:
// when the data happens to contain a finder look-alike that ZXing's detector
// meets before the real bottom-left finder (it stops at the first three
// candidates), that frame fails although the code is valid — whatever
// encoder made it (measured over 2,225 ports upright: about 0.7% with the
// hand-written encoder this package had, as with ZXing's own encoder, and
// 0.2% with this library; none of them, whichever encoder, unreadable from
// every side); seen from another side it reads.
func readAsCamera(c *Code, w int) (string, error) {
	var err error
	for turn := range 4 {
		var got string
		if got, err = decode(draw(c, w, turn), false); err == nil {
			return got, nil
		}
	}
	return "", err
}

// TestEntryURLsDecode encodes every entry URL shape wxlogin draws and reads
// each back through ZXing's detector, as a camera (and the browser test's
// screenshot check) would: at 2, 3 and 4 pixels per module, and at 400
// pixels, the page's 200 CSS pixels on a 2x screen as in the browser test.
func TestEntryURLsDecode(t *testing.T) {
	urls := entryURLs(testing.Short())
	failed := 0
	for _, s := range urls {
		c, err := Encode([]byte(s), M)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		n := c.Size + 2*QuietZone
		for _, w := range []int{2 * n, 3 * n, 4 * n, 400} {
			got, err := readAsCamera(c, w)
			if err == nil && got == s {
				continue
			}
			failed++
			if failed <= 10 {
				t.Errorf("%q (version %d, %d px): read %q, %v", s, c.Version, w, got, err)
			}
			break
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d URLs did not read back", failed, len(urls))
	}
}
