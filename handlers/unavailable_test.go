package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// A browser that left before the database answered is not an outage: no
// 503, no error line (Android aborts its first callback, also mid-storm).
func TestUnavailableWhenTheBrowserLeft(t *testing.T) {
	cases := []struct {
		name       string
		gone       bool
		wantStatus int
		wantLog    bool
	}{
		{"database down, browser waiting", false, http.StatusServiceUnavailable, true},
		{"browser gone", true, statusClientClosed, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := pageHandler(t, map[string]string{"DATA_DIR": t.TempDir()})
			var logs bytes.Buffer
			h.log = slog.New(slog.NewTextHandler(&logs, nil))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.gone {
				cancel()
			}
			rec := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(rec)
			c.Request = httptest.NewRequestWithContext(ctx, http.MethodGet, "/wechat/callback", nil)
			h.unavailable(c, errors.New("query failed"))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			if got := strings.Contains(logs.String(), "database unavailable"); got != tc.wantLog {
				t.Fatalf("error logged: %v, want %v (%s)", got, tc.wantLog, logs.String())
			}
		})
	}
}
