package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/tokencenter"
)

// TokenSource gives the account's access token (tokencenter.Center).
type TokenSource interface {
	Token(ctx context.Context) (tokencenter.Token, error)
}

// tokenAPIKeys holds the SHA-256 of each TOKEN_API_KEYS key: comparing
// fixed-length digests in constant time reveals neither a key's content nor
// its length.
type tokenAPIKeys [][sha256.Size]byte

func newTokenAPIKeys(keys []string) tokenAPIKeys {
	out := make(tokenAPIKeys, len(keys))
	for i, k := range keys {
		out[i] = sha256.Sum256([]byte(k))
	}
	return out
}

// match returns the 1-based position of the key presented, or 0. Every key
// is compared, whatever matched, so the time taken says nothing either.
func (ks tokenAPIKeys) match(presented string) int {
	sum := sha256.Sum256([]byte(presented))
	found := 0
	for i := range ks {
		if subtle.ConstantTimeCompare(sum[:], ks[i][:]) == 1 && found == 0 {
			found = i + 1
		}
	}
	return found
}

// maxTokenAPIKeyHeader bounds the Authorization header read.
const maxTokenAPIKeyHeader = 512

// accessToken is GET /api/wechat/access-token: the account's other
// services read the one shared token here instead of fetching their own
// (which would knock out everyone else's). Registered only when
// TOKEN_API_KEYS is set; otherwise the path answers 404 like any other.
func (h *Handler) accessToken(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	auth := c.GetHeader("Authorization")
	presented, ok := strings.CutPrefix(auth, "Bearer ")
	pos := 0
	if ok && len(auth) <= maxTokenAPIKeyHeader {
		pos = h.tokenKeys.match(strings.TrimSpace(presented))
	}
	if pos == 0 {
		h.metrics.TokenAPIRead("none", "unauthorized")
		c.Header("WWW-Authenticate", `Bearer realm="wxlogin"`)
		c.JSON(http.StatusUnauthorized, gin.H{"error": "unauthorized", "message": "缺少或错误的密钥（Authorization: Bearer KEY，KEY 为 TOKEN_API_KEYS 之一）"})
		return
	}
	key := strconv.Itoa(pos)
	t, err := h.tokens.Token(c.Request.Context())
	if err != nil {
		h.metrics.TokenAPIRead(key, "unavailable")
		h.log.WarnContext(c.Request.Context(), "access-token API: no token", "key", key, "err", err)
		retry := "5"
		msg := "暂时拿不到公众号的 access_token，请稍后重试"
		if errors.Is(err, tokencenter.ErrForceTooSoon) {
			retry = "30"
		}
		var fe *tokencenter.FetchError
		if errors.As(err, &fe) && fe.Desc != "" {
			msg += "：" + fe.Desc
		}
		c.Header("Retry-After", retry)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "unavailable", "message": msg})
		return
	}
	h.metrics.TokenAPIRead(key, "ok")
	c.JSON(http.StatusOK, gin.H{"access_token": t.Value, "expires_in": max(int(time.Until(t.Expires)/time.Second), 0)})
}
