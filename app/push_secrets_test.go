package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxlogin/wechatsim"
)

// TestPushSecretsNeverShown: the Token and the EncodingAESKey appear in no
// answer, log line or metric, whatever the pushes (good, forged, stale).
func TestPushSecretsNeverShown(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", pushVars(true), Options{})
	e.configurePush(wechatsim.PushSafe, false, in)
	var bodies []string
	if res, err := e.Sim.Push(context.Background(), wechatsim.PushEvent{OpenID: "oSecret", Event: "subscribe"}); err != nil || !res.Delivered {
		t.Fatalf("push: %+v %v", res, err)
	}
	now := time.Now()
	for _, q := range []string{
		signedQuery(testPushToken, now).Encode() + "&echostr=e",
		signedQuery("wrongToken", now).Encode() + "&echostr=e",
		signedQuery(testPushToken, now.Add(-time.Hour)).Encode(),
	} {
		bodies = append(bodies, newBrowser(t).get(in.URL+"/wechat/notify?"+q).Body)
	}
	for _, body := range []string{eventXML("o", now, "subscribe", ""), "<xml>", strings.Repeat("x", 70<<10)} {
		q := signedQuery(testPushToken, now)
		_, b := postPush(t, in, q, strings.NewReader(body))
		bodies = append(bodies, b)
		q = signedQuery(testPushToken, now)
		_, b = postPush(t, in, q, strings.NewReader(e.safeBody(q, body)))
		bodies = append(bodies, b)
	}
	bodies = append(bodies, newBrowser(t).get(in.URL+"/metrics").Body)
	all := strings.Join(bodies, "\n") + "\n" + e.Logs.String()
	for name, secret := range map[string]string{"WECHAT_TOKEN": testPushToken, "WECHAT_AES_KEY": testPushAESKey} {
		if strings.Contains(all, secret) {
			t.Errorf("%s appears in an answer, the metrics or the log", name)
		}
	}
	if p := newBrowser(t).get(in.URL + "/wechat/notify"); p.Status != http.StatusForbidden {
		t.Errorf("bare GET: %d", p.Status)
	}
}
