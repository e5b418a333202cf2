package wechat_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// No error text may carry the secret, the code, a token or the request URL:
// net/http's *url.Error quotes the whole URL, secret and code included.
func TestErrorsNeverContainSecrets(t *testing.T) {
	const secret = "S3cretAppSecretValue0123456789ab"
	const code = "081CodeValueZZ9yX8wV7uT6sR5qP4oN"
	const token = "90_AccessTokenValueQwErTy"

	// A server that echoes the request URL into its errmsg, the worst case.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"errcode":40029,"errmsg":"invalid code %s, rid: 1-2-3"}`, r.URL.String())
	}))
	defer echo.Close()

	sim := wechatsim.New(wechatsim.Options{Secret: secret})
	simSrv := httptest.NewServer(sim.Handler())
	defer simSrv.Close()

	// A listener that accepts and then says nothing: a hang at the TCP level.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	// A closed port: connection refused.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()

	cases := []struct {
		name   string
		apiURL string
		fault  *wechatsim.Fault
	}{
		{"errmsg echoing the URL", echo.URL, nil},
		{"simulator 40029", simSrv.URL, nil},
		{"simulator 502", simSrv.URL, &wechatsim.Fault{HTTPStatus: 502}},
		{"simulator bad json", simSrv.URL, &wechatsim.Fault{BadJSON: true}},
		{"simulator hang", simSrv.URL, &wechatsim.Fault{Hang: true}},
		{"tcp hang", "http://" + ln.Addr().String(), nil},
		{"connection refused", closedURL, nil},
		{"unparsable base URL", "http://bad host\x7f", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim.ClearFaults()
			if tc.fault != nil {
				sim.SetFault("access_token", *tc.fault)
				sim.SetFault("userinfo", *tc.fault)
			}
			c := wechat.New(wechat.Config{AppID: sim.AppID(), Secret: secret, APIURL: tc.apiURL,
				Timeout: 100 * time.Millisecond, Backoff: time.Millisecond})
			_, err1 := c.ExchangeCode(context.Background(), code)
			_, err2 := c.UserInfo(context.Background(), token, "oOPENID", "zh_CN")
			_, err3 := c.RefreshToken(context.Background(), token)
			for _, err := range []error{err1, err2, err3} {
				if err == nil {
					t.Fatal("expected an error")
				}
				var logged bytes.Buffer
				slog.New(slog.NewTextHandler(&logged, nil)).Error("exchange failed", "err", err)
				texts := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), logged.String()}
				for u := err; u != nil; {
					texts = append(texts, u.Error())
					if w, ok := u.(interface{ Unwrap() error }); ok {
						u = w.Unwrap()
					} else {
						break
					}
				}
				bads := []string{secret, code, token}
				if tc.apiURL != echo.URL {
					// No request URL at all (the echo server puts a scrubbed
					// one in its errmsg on purpose).
					bads = append(bads, "secret=", "code=", "access_token=", "/sns/")
				}
				for _, text := range texts {
					for _, bad := range bads {
						if strings.Contains(text, bad) {
							t.Fatalf("error text %q contains %q", text, bad)
						}
					}
				}
			}
			if tc.name == "simulator 40029" {
				t.Logf("example: %v", err1)
			}
		})
	}
}
