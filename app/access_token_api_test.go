package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func apiGet(t *testing.T, rawURL, auth string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return page{Status: res.StatusCode, Body: b.String(), Header: res.Header}
}

const (
	apiKey1 = "k1-0123456789abcdef0123456789abcdef"
	apiKey2 = "k2-fedcba9876543210fedcba9876543210"
)

// GET /api/wechat/access-token: 404 unless TOKEN_API_KEYS is set; 401
// without a key, with a wrong one, with one differing only in its last
// character; the shared token (the one WeChat accepts) with a good key,
// never cached; reads counted per key position, never by the key.
func TestAccessTokenAPI(t *testing.T) {
	e := newEnv(t)
	off := e.start("off", nil, Options{})
	if p := apiGet(t, off.URL+"/api/wechat/access-token", "Bearer "+apiKey1); p.Status != http.StatusNotFound {
		t.Fatalf("without TOKEN_API_KEYS: %d, want 404", p.Status)
	}
	on := e.start("on", map[string]string{"TOKEN_API_KEYS": apiKey1 + "," + apiKey2}, Options{})
	last := apiKey1[:len(apiKey1)-1] + "0"
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer " + last, "Bearer " + apiKey1[:len(apiKey1)-1],
		"Bearer " + apiKey1 + "x", "Basic " + apiKey1, "bearer " + apiKey1, "Bearer " + strings.Repeat("k", 600)} {
		p := apiGet(t, on.URL+"/api/wechat/access-token", auth)
		if p.Status != http.StatusUnauthorized || strings.Contains(p.Body, "access_token\":") {
			t.Fatalf("Authorization %q: %d %s", auth, p.Status, p.Body)
		}
	}
	if n := e.Sim.Stats().ByEndpoint["stable_token"]; n != 0 {
		t.Fatalf("refused reads fetched the token %d times", n)
	}
	var got [2]string
	for i, key := range []string{apiKey1, apiKey2} {
		p := apiGet(t, on.URL+"/api/wechat/access-token", "Bearer "+key)
		if p.Status != http.StatusOK || p.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("good key: %d %q", p.Status, p.Header.Get("Cache-Control"))
		}
		var body struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		if err := json.Unmarshal([]byte(p.Body), &body); err != nil || body.AccessToken == "" || body.ExpiresIn < 7000 {
			t.Fatalf("answer %v: %+v", err, body)
		}
		got[i] = body.AccessToken
	}
	// The token is the one every instance shares, and WeChat takes it.
	if got[0] != got[1] || e.Sim.TokenStats().StableNormal != 1 {
		t.Fatalf("two reads, two tokens or fetches: %+v", e.Sim.TokenStats())
	}
	if err := on.App.WeChat.DeleteMenu(context.Background(), got[0]); err != nil {
		t.Fatalf("the token handed out is refused by WeChat: %v", err)
	}
	tok, err := off.App.Tokens.Token(context.Background())
	if err != nil || tok.Value != got[0] {
		t.Fatalf("another instance holds a different token (%v)", err)
	}
	metrics := newBrowser(t).get(on.URL + "/metrics").Body
	for _, s := range []string{`wxlogin_access_token_api_reads_total{key="1",result="ok"} 1`,
		`wxlogin_access_token_api_reads_total{key="2",result="ok"} 1`, `wxlogin_access_token_api_reads_total{key="none",result="unauthorized"} 9`} {
		if !strings.Contains(metrics, s) {
			t.Errorf("metrics lack %s", s)
		}
	}
	for _, k := range []string{apiKey1, apiKey2, got[0]} {
		if strings.Contains(metrics, k) || strings.Contains(e.Logs.String(), k) {
			t.Fatal("a key or the token is in the metrics or the logs")
		}
	}
}
