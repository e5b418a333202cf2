package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/msgcrypt"
	"wxlogin/wechatsim"
)

func TestNotifyCheck(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", pushVars(true), Options{})
	off := e.start("off", nil, Options{})
	good := signedQuery(testPushToken, time.Now())
	good.Set("echostr", "1234567890abc")
	other := signedQuery("anotherToken", time.Now())
	other.Set("echostr", "x")
	stale := signedQuery(testPushToken, time.Now().Add(-time.Hour))
	stale.Set("echostr", "x")
	noEcho := signedQuery(testPushToken, time.Now())
	b := newBrowser(t)
	tests := []struct {
		name string
		in   *instance
		q    url.Values
		want int
		body string
	}{
		{"valid", in, good, http.StatusOK, "1234567890abc"},
		{"another token", in, other, http.StatusForbidden, ""},
		{"an hour old", in, stale, http.StatusForbidden, ""},
		{"no echostr", in, noEcho, http.StatusForbidden, ""},
		{"nothing", in, url.Values{}, http.StatusForbidden, ""},
		{"no WECHAT_TOKEN", off, good, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		p := b.get(tt.in.URL + "/wechat/notify?" + tt.q.Encode())
		if p.Status != tt.want || (tt.body != "" && p.Body != tt.body) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, p.Status, p.Body, tt.want, tt.body)
		}
	}
	at, err := in.App.DB.LastPushCheck(context.Background())
	if err != nil || at.IsZero() {
		t.Errorf("the valid check was not recorded: %v %v", at, err)
	}
	if st, _ := postPush(t, off, signedQuery(testPushToken, time.Now()), strings.NewReader(eventXML("o1", time.Now(), "subscribe", ""))); st != http.StatusNotFound {
		t.Errorf("POST without WECHAT_TOKEN: %d, want 404", st)
	}
}

// TestPushRefusedTable: every forged, stale or malformed delivery is refused
// before anything is stored.
func TestPushRefusedTable(t *testing.T) {
	e := newEnv(t)
	plain := e.start("plain", pushVars(false), Options{})
	safe := e.start("safe", pushVars(true), Options{})
	now := time.Now()
	msg := eventXML("oRefused", now, "subscribe", "")

	// A good plaintext delivery, then the same query with another body.
	goodQ := signedQuery(testPushToken, now)
	if st, body := postPush(t, plain, goodQ, strings.NewReader(msg)); st != http.StatusOK || body != "success" {
		t.Fatalf("good plaintext push: %d %q", st, body)
	}
	wantPushes, wantNonces := pushRows(t, plain)
	if wantPushes != 1 {
		t.Fatalf("good push stored %d times", wantPushes)
	}

	wrongSafeQ := signedQuery(testPushToken, now)
	wrongSafeBody := e.safeBody(wrongSafeQ, msg)
	wrongSafeQ.Set("msg_signature", msgcrypt.Signature("anotherToken", wrongSafeQ.Get("timestamp"), wrongSafeQ.Get("nonce"), "x"))

	otherAppQ := signedQuery(testPushToken, now)
	c, _ := msgcrypt.New(testPushAESKey, "wxSomeoneElse00000")
	enc, _ := c.Encrypt([]byte(msg))
	otherAppQ.Set("encrypt_type", "aes")
	otherAppQ.Set("msg_signature", msgcrypt.Signature(testPushToken, otherAppQ.Get("timestamp"), otherAppQ.Get("nonce"), enc))
	otherAppBody := "<xml><Encrypt>" + enc + "</Encrypt></xml>"

	missing := signedQuery(testPushToken, now)
	missing.Del("signature")
	wrong := signedQuery(testPushToken, now)
	wrong.Set("signature", strings.Repeat("0", 40))
	future := signedQuery(testPushToken, now.Add(time.Hour))

	tests := []struct {
		name string
		in   *instance
		q    url.Values
		body string
		want int
	}{
		{"missing signature", plain, missing, msg, http.StatusForbidden},
		{"wrong signature", plain, wrong, msg, http.StatusForbidden},
		{"another Token", plain, signedQuery("anotherToken", now), msg, http.StatusForbidden},
		{"an hour old", plain, signedQuery(testPushToken, now.Add(-time.Hour)), msg, http.StatusForbidden},
		{"an hour ahead", plain, future, msg, http.StatusForbidden},
		{"replay with a changed body", plain, goodQ, eventXML("oAttacker", now, "subscribe", ""), http.StatusForbidden},
		{"safe mode, wrong msg_signature", safe, wrongSafeQ, wrongSafeBody, http.StatusForbidden},
		{"safe mode, sealed for another appid", safe, otherAppQ, otherAppBody, http.StatusForbidden},
		{"plaintext when the AES key is set", safe, signedQuery(testPushToken, now), msg, http.StatusForbidden},
		{"malformed XML", plain, signedQuery(testPushToken, now), "<xml><FromUserName>o1</xml>", http.StatusBadRequest},
		{"not XML", plain, signedQuery(testPushToken, now), "hello", http.StatusBadRequest},
		{"no FromUserName", plain, signedQuery(testPushToken, now), "<xml><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>", http.StatusBadRequest},
		{"DOCTYPE", plain, signedQuery(testPushToken, now), `<!DOCTYPE xml [<!ENTITY a "b">]>` + msg, http.StatusBadRequest},
		{"oversized, no length given", plain, signedQuery(testPushToken, now), "<xml><Content>" + strings.Repeat("a", 70<<10) + "</Content></xml>", http.StatusBadRequest},
		{"safe mode, garbage Encrypt", safe, func() url.Values {
			q := signedQuery(testPushToken, now)
			q.Set("encrypt_type", "aes")
			q.Set("msg_signature", msgcrypt.Signature(testPushToken, q.Get("timestamp"), q.Get("nonce"), "AAAA"))
			return q
		}(), "<xml><Encrypt>AAAA</Encrypt></xml>", http.StatusBadRequest},
	}
	for _, tt := range tests {
		body := strings.NewReader(tt.body)
		// An io.Reader that is not a *strings.Reader: no Content-Length,
		// so the bound on reading is what refuses the oversized body.
		st, _ := postPush(t, tt.in, tt.q, struct{ *strings.Reader }{body})
		if st != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, st, tt.want)
		}
	}
	// A declared oversized body is refused by the length alone (413).
	if st, _ := postPush(t, plain, signedQuery(testPushToken, now), strings.NewReader(strings.Repeat("a", 70<<10))); st != http.StatusRequestEntityTooLarge {
		t.Errorf("declared oversized body: %d, want 413", st)
	}
	for _, in := range []*instance{plain, safe} {
		p, n := pushRows(t, in)
		if p != wantPushes || n != wantNonces {
			t.Errorf("%s: after refused deliveries %d pushes and %d nonces, want %d and %d", in.App.Config.InstanceID, p, n, wantPushes, wantNonces)
		}
	}
	var followers int64
	_ = plain.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM users WHERE openid = 'oAttacker'`).Scan(&followers)
	if followers != 0 {
		t.Error("the replayed push with a forged body created a user")
	}
	m := scrape(t, plain)
	if !strings.Contains(m, `wxlogin_pushes_total{reason="replay",result="refused"} 1`) ||
		!strings.Contains(m, `wxlogin_pushes_total{reason="signature",result="refused"} 3`) {
		t.Errorf("refusals not counted by reason:\n%s", grepLines(m, "wxlogin_pushes_total"))
	}
}

func scrape(t *testing.T, in *instance) string {
	t.Helper()
	return newBrowser(t).get(in.URL + "/metrics").Body
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestPushModesFromSimulator: the simulator's pushes, sealed by its own
// implementation, are read in every mode the instance accepts.
func TestPushModesFromSimulator(t *testing.T) {
	e := newEnv(t)
	plain := e.start("plain", pushVars(false), Options{})
	safe := e.start("safe", pushVars(true), Options{})
	tests := []struct {
		mode string
		in   *instance
	}{
		{wechatsim.PushPlaintext, plain},
		{wechatsim.PushCompatible, safe},
		{wechatsim.PushSafe, safe},
		{wechatsim.PushCompatible, plain}, // no key: the plaintext fields are read
	}
	for i, tt := range tests {
		e.configurePush(tt.mode, false, tt.in)
		openid := "oMode" + tt.mode + tt.in.App.Config.InstanceID
		res, err := e.Sim.Push(context.Background(), wechatsim.PushEvent{OpenID: openid, MsgType: "text", Content: "你好 🎉 <&>", MsgID: int64(1000 + i)})
		if err != nil || !res.Delivered || len(res.Attempts) != 1 {
			t.Fatalf("%s → %s: %+v %v", tt.mode, tt.in.App.Config.InstanceID, res, err)
		}
		var mode, content string
		err = tt.in.App.DB.SQL.QueryRow(`SELECT mode, content FROM pushes WHERE openid = $1`, openid).Scan(&mode, &content)
		wantMode := tt.mode
		if tt.in == plain {
			wantMode = "plaintext"
		}
		if err != nil || mode != wantMode || content != "你好 🎉 <&>" {
			t.Errorf("%s → %s: stored mode %q content %q (%v)", tt.mode, tt.in.App.Config.InstanceID, mode, content, err)
		}
	}
}

// TestPushHandledOnceAcrossInstances: one push delivered 4 times to each of
// two instances at once (WeChat's retries, the load balancer sending them
// anywhere), then again later, is stored and handled once.
func TestPushHandledOnceAcrossInstances(t *testing.T) {
	e := newEnv(t)
	a := e.start("a", pushVars(true), Options{})
	b := e.start("b", pushVars(true), Options{})
	at := time.Now()
	for _, ev := range []struct{ event, key string }{{"subscribe", ""}, {"VIEW", a.URL + "/wechat/entry?next=/profile"}} {
		msg := eventXML("oOnce", at, ev.event, ev.key)
		release := make(chan struct{})
		var wg sync.WaitGroup
		type answer struct {
			st   int
			body string
			err  error
		}
		answers := make(chan answer, 8)
		for i := 0; i < 8; i++ {
			in := []*instance{a, b}[i%2]
			q := signedQuery(testPushToken, time.Now())
			body := e.safeBody(q, msg)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				st, b, err := tryPostPush(context.Background(), in, q, strings.NewReader(body))
				answers <- answer{st, b, err}
			}()
		}
		close(release)
		wg.Wait()
		close(answers)
		for an := range answers {
			if an.err != nil || an.st != http.StatusOK || an.body != "success" {
				t.Fatalf("%s: a delivery got %d %q %v", ev.event, an.st, an.body, an.err)
			}
		}
		// Later: once more, to either instance.
		q := signedQuery(testPushToken, time.Now())
		if st, body := postPush(t, b, q, strings.NewReader(e.safeBody(q, msg))); st != http.StatusOK || body != "success" {
			t.Fatalf("%s: the late retry got %d %q", ev.event, st, body)
		}
		var rows, deliveries int
		err := a.App.DB.SQL.QueryRow(`SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM pushes WHERE openid = 'oOnce' AND event = $1`, ev.event).Scan(&rows, &deliveries)
		if err != nil || rows != 1 || deliveries != 9 {
			t.Errorf("%s: %d rows with %d deliveries, want 1 with 9 (%v)", ev.event, rows, deliveries, err)
		}
	}
	var users int
	_ = a.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM users WHERE openid = 'oOnce' AND followed AND nickname = ''`).Scan(&users)
	if users != 1 {
		t.Errorf("%d follower rows for oOnce, want 1 (followed, no invented nickname)", users)
	}
	var identities int
	_ = a.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM identities WHERE app = 'oa' AND openid = 'oOnce' AND login_count = 0`).Scan(&identities)
	if identities != 1 {
		t.Errorf("%d Official Account identities for the new follower, want 1 (not logged in yet)", identities)
	}
	// Handled once: exactly one "ok" across both instances per push.
	if got := countMetric(scrape(t, a), `wxlogin_pushes_total{reason="",result="ok"}`) + countMetric(scrape(t, b), `wxlogin_pushes_total{reason="",result="ok"}`); got != 2 {
		t.Errorf("pushes handled (result ok) = %d across both instances, want 2", got)
	}
}

// countMetric reads one series' value (0 if absent).
func countMetric(body, series string) int {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			n := 0
			for _, c := range v {
				if c < '0' || c > '9' {
					break
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
	}
	return 0
}

// TestFollowNewestWins: subscribe → unsubscribe → subscribe, delivered in
// every order, ends with the newest state.
func TestFollowNewestWins(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", pushVars(false), Options{})
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	evs := []string{"subscribe", "unsubscribe", "subscribe"}
	orders := [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {2, 0, 1}, {0, 2, 1}, {1, 2, 0}}
	for n, order := range orders {
		openid := "oOrder" + string(rune('A'+n))
		for _, i := range order {
			q := signedQuery(testPushToken, time.Now())
			if st, _ := postPush(t, in, q, strings.NewReader(eventXML(openid, base.Add(time.Duration(i)*time.Second), evs[i], ""))); st != http.StatusOK {
				t.Fatalf("order %v: %d", order, st)
			}
		}
		fs, err := in.App.DB.FollowOf(context.Background(), openid)
		if err != nil || !fs.Known || !fs.Followed || !fs.ChangedAt.Equal(base.Add(2*time.Second)) {
			t.Errorf("order %v: %+v %v, want followed at the last subscribe", order, fs, err)
		}
	}
	// Two events: the unsubscribe is newest, whatever arrives last.
	for _, order := range [][]int{{0, 1}, {1, 0}} {
		openid := "oTwo" + string(rune('0'+order[0]))
		for _, i := range order {
			q := signedQuery(testPushToken, time.Now())
			postPush(t, in, q, strings.NewReader(eventXML(openid, base.Add(time.Duration(i)*time.Second), evs[i], "")))
		}
		if fs, _ := in.App.DB.FollowOf(context.Background(), openid); !fs.Known || fs.Followed {
			t.Errorf("order %v: %+v, want unfollowed", order, fs)
		}
	}
}

// TestPurgeOncePushes: housekeeping removes pushes past retention and
// nonces past the timestamp window, and keeps the rest.
func TestPurgeOncePushes(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", map[string]string{"RETENTION_DAYS": "30", "WECHAT_TOKEN": testPushToken}, Options{})
	db := in.App.DB.Gorm
	now := time.Now().UTC()
	for _, r := range []struct {
		key string
		at  time.Time
	}{{"old", now.AddDate(0, 0, -31)}, {"new", now.AddDate(0, 0, -29)}} {
		if err := db.Exec(`INSERT INTO pushes (dedupe_key, openid, msg_type, create_time, received_at, last_delivery_at) VALUES (?, 'o', 'text', ?, ?, ?)`,
			r.key, r.at, r.at, r.at).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(`INSERT INTO push_nonces (nonce_key, body_hash, created_at) VALUES (?, 'h', ?)`, r.key, now.Add(map[string]time.Duration{"old": -time.Hour, "new": -time.Minute}[r.key])).Error; err != nil {
			t.Fatal(err)
		}
	}
	in.App.PurgeOnce(t.Context())
	var pushes, nonces []string
	db.Raw(`SELECT dedupe_key FROM pushes`).Scan(&pushes)
	db.Raw(`SELECT nonce_key FROM push_nonces`).Scan(&nonces)
	if strings.Join(pushes, ",") != "new" || strings.Join(nonces, ",") != "new" {
		t.Errorf("after housekeeping: pushes %v, nonces %v; want only the new ones", pushes, nonces)
	}
}

// TestFollowerLogsInLater: a person first known from a subscribe push logs
// in later; the login finds the follower's row (one user, one identity) and
// the follow status stays.
func TestFollowerLogsInLater(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", pushVars(false), Options{})
	openid := ""
	for _, u := range e.Sim.Users() {
		if u.Key == "zhangsan" {
			openid = u.OpenID
		}
	}
	if st, _ := postPush(t, in, signedQuery(testPushToken, time.Now()), strings.NewReader(eventXML(openid, time.Now(), "subscribe", ""))); st != http.StatusOK {
		t.Fatalf("subscribe: %d", st)
	}
	if p := e.login(newBrowser(t), in, "zhangsan"); p.Status != http.StatusFound {
		t.Fatalf("login: %d", p.Status)
	}
	var users, identities, logins int
	db := in.App.DB.SQL
	_ = db.QueryRow(`SELECT COUNT(*) FROM users WHERE openid = $1 AND followed AND nickname <> ''`, openid).Scan(&users)
	_ = db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(login_count), 0) FROM identities WHERE openid = $1`, openid).Scan(&identities, &logins)
	if users != 1 || identities != 1 || logins != 1 {
		t.Errorf("after the login: %d users (followed, with the nickname), %d identities with %d logins; want 1, 1, 1", users, identities, logins)
	}
}
