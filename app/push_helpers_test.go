package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxlogin/msgcrypt"
	"wxlogin/wechatsim"
)

const (
	testPushToken  = "pushToken123"
	testPushAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// pushVars are the settings of an instance that receives pushes; aes adds
// the EncodingAESKey (safe and compatible mode only).
func pushVars(aes bool) map[string]string {
	v := map[string]string{"WECHAT_TOKEN": testPushToken}
	if aes {
		v["WECHAT_AES_KEY"] = testPushAESKey
	}
	return v
}

// configurePush points the env's simulator at the instances' /wechat/notify.
func (e *env) configurePush(mode string, dup bool, ins ...*instance) {
	var urls []string
	for _, in := range ins {
		urls = append(urls, in.URL+"/wechat/notify")
	}
	e.Sim.ConfigurePush(wechatsim.PushConfig{URLs: urls, Duplicate: dup, Token: testPushToken, AESKey: testPushAESKey,
		Mode: mode, Timeout: 10 * time.Second})
}

// signedQuery is a push's query signed with token at ts.
func signedQuery(token string, ts time.Time) url.Values {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	nonce := hex.EncodeToString(b)
	t := strconv.FormatInt(ts.Unix(), 10)
	return url.Values{"signature": {msgcrypt.Signature(token, t, nonce)}, "timestamp": {t}, "nonce": {nonce}}
}

// safeBody seals msg for the env's appid and adds msg_signature to q.
func (e *env) safeBody(q url.Values, msg string) string {
	e.t.Helper()
	c, err := msgcrypt.New(testPushAESKey, e.Sim.AppID())
	if err != nil {
		e.t.Fatal(err)
	}
	enc, err := c.Encrypt([]byte(msg))
	if err != nil {
		e.t.Fatal(err)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", msgcrypt.Signature(testPushToken, q.Get("timestamp"), q.Get("nonce"), enc))
	return "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
}

func eventXML(openid string, at time.Time, event, key string) string {
	return "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[" + openid + "]]></FromUserName>" +
		"<CreateTime>" + strconv.FormatInt(at.Unix(), 10) + "</CreateTime><MsgType><![CDATA[event]]></MsgType>" +
		"<Event><![CDATA[" + event + "]]></Event><EventKey><![CDATA[" + key + "]]></EventKey></xml>"
}

// postPush sends one delivery and returns status and body.
func postPush(t *testing.T, in *instance, q url.Values, body io.Reader) (int, string) {
	t.Helper()
	st, b, err := tryPostPush(context.Background(), in, q, body)
	if err != nil {
		t.Fatal(err)
	}
	return st, b
}

func tryPostPush(ctx context.Context, in *instance, q url.Values, body io.Reader) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL+"/wechat/notify?"+q.Encode(), body)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/xml")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), nil
}

// pushRows counts the stored pushes and nonces.
func pushRows(t *testing.T, in *instance) (pushes, nonces int64) {
	t.Helper()
	ctx := context.Background()
	if err := in.App.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM pushes`).Scan(&pushes); err != nil {
		t.Fatal(err)
	}
	if err := in.App.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM push_nonces`).Scan(&nonces); err != nil {
		t.Fatal(err)
	}
	return pushes, nonces
}
