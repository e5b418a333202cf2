package exchange_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"wxlogin/exchange"
	"wxlogin/models"
	"wxlogin/tokencrypt"
	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// miniWorld is a database, a simulator and both of its apps' clients.
type miniWorld struct {
	*world
	mini *wechat.Client
}

func newMiniWorld(t *testing.T) *miniWorld {
	t.Helper()
	w := newWorld(t)
	srv := httptest.NewServer(w.sim.Handler())
	t.Cleanup(srv.Close)
	mini := wechat.New(wechat.Config{AppID: w.sim.MiniAppID(), Secret: w.sim.MiniSecret(), OAuthURL: srv.URL, APIURL: srv.URL})
	return &miniWorld{world: w, mini: mini}
}

// gate is one instance's gate exchanging web and mini program codes.
func (w *miniWorld) gate(t *testing.T, instance string) *exchange.Gate {
	t.Helper()
	sealer, err := tokencrypt.New([][]byte{make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return exchange.New(w.db, w.wx, sealer, exchange.Config{
		Instance: instance, Lease: 15 * time.Second, MaxWait: 10 * time.Second, AppID: w.sim.AppID(),
		Steps: map[string]exchange.Step{exchange.KindMini: exchange.MiniStep{WeChat: w.mini, Sealer: sealer, AppID: w.sim.MiniAppID()}},
	})
}

func miniCode(t *testing.T, w *miniWorld, user string) string {
	t.Helper()
	code, err := w.sim.IssueMiniCode(user)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// 20 requests with one js_code, released together over two instances: one
// jscode2session, 20 answers for the same user, one of them the owner's.
func TestMiniCodeOneCallAcrossInstances(t *testing.T) {
	w := newMiniWorld(t)
	w.sim.SetLatency(20 * time.Millisecond)
	gates := []*exchange.Gate{w.gate(t, "a"), w.gate(t, "b")}
	code := miniCode(t, w, "zhangsan")
	req := exchange.Request{Kind: exchange.KindMini, Code: code}
	res, errs := raceGate(20, func(i int) (exchange.Result, error) { return gates[i%2].Exchange(context.Background(), req) })
	owners := 0
	for i := range res {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if res[i].UserID == 0 || res[i].UserID != res[0].UserID || res[i].OpenID != w.user(t, "zhangsan").MiniOpenID {
			t.Fatalf("request %d: %+v", i, res[i])
		}
		if !res[i].Duplicate {
			owners++
		}
	}
	if owners != 1 || w.sim.ExchangeCount(code) != 1 || w.sim.Stats().ByEndpoint["jscode2session"] != 1 {
		t.Fatalf("owners %d, jscode2session calls %d", owners, w.sim.ExchangeCount(code))
	}
}

// A code presented again after its lifetime is refused without a WeChat
// call, also when its exchange succeeded: the code was the only binding.
func TestMiniCodeReplayAfterLifetimeIsRefused(t *testing.T) {
	bothDialects(t, func(t *testing.T, w0 *world) {
		srv := httptest.NewServer(w0.sim.Handler())
		t.Cleanup(srv.Close)
		w := &miniWorld{world: w0, mini: wechat.New(wechat.Config{AppID: w0.sim.MiniAppID(), Secret: w0.sim.MiniSecret(), APIURL: srv.URL, OAuthURL: srv.URL})}
		g := w.gate(t, "a")
		ctx := context.Background()
		code := miniCode(t, w, "emoji")
		req := exchange.Request{Kind: exchange.KindMini, Code: code}
		first, err := g.Exchange(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		// Within the lifetime a retry gets the same login.
		again, err := g.Exchange(ctx, req)
		if err != nil || again.UserID != first.UserID || !again.Duplicate {
			t.Fatalf("retry within the lifetime: %+v, %v", again, err)
		}
		// Ten minutes later (the row made old in SQL rather than waited for).
		if err := w.db.Gorm.Exec(`UPDATE code_exchanges SET created_at = ?`, time.Now().UTC().Add(-10*time.Minute)).Error; err != nil {
			t.Fatal(err)
		}
		_, err = g.Exchange(ctx, req)
		if !errors.Is(err, exchange.ErrExpired) {
			t.Fatalf("replay after the lifetime: %v, want ErrExpired", err)
		}
		if n := w.sim.ExchangeCount(code); n != 1 {
			t.Fatalf("jscode2session calls %d, want 1", n)
		}
	})
}

// Web and mini program codes live in separate namespaces: the same string
// presented as both is two rows, each exchanged with its own endpoint.
func TestMiniAndWebCodesNeverShareARow(t *testing.T) {
	w := newMiniWorld(t)
	g := w.gate(t, "a")
	ctx := context.Background()
	code := miniCode(t, w, "zhangsan")
	// As a web code the simulator refuses it (another appid's code).
	_, err := g.Exchange(ctx, exchange.Request{Code: code, State: "st", BrowserID: "b", MayClaim: true})
	var f *exchange.Failed
	if !errors.As(err, &f) || f.Kind != models.KindRejected {
		t.Fatalf("as a web code: %v", err)
	}
	// As a mini program code it is still unspent: its own row, its own call.
	res, err := g.Exchange(ctx, exchange.Request{Kind: exchange.KindMini, Code: code})
	if err != nil || res.Duplicate || res.OpenID != w.user(t, "zhangsan").MiniOpenID {
		t.Fatalf("as a mini code: %+v, %v", res, err)
	}
	if n, _ := w.db.CountExchanges(ctx, ""); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}

func TestUnknownKindIsRefused(t *testing.T) {
	w := newWorld(t)
	g := w.gate(t, "a", 15*time.Second)
	_, err := g.Exchange(context.Background(), exchange.Request{Kind: exchange.KindMini, Code: "x"})
	if !errors.Is(err, exchange.ErrKind) {
		t.Fatalf("mini code without a mini step: %v", err)
	}
	if n, _ := w.db.CountExchanges(context.Background(), ""); n != 0 {
		t.Fatalf("%d rows", n)
	}
}

// WeChat's answers map to Failed kinds the handlers turn into statuses:
// a used code is rejected, 45011 and -1 are kept with their errcodes.
func TestMiniFailures(t *testing.T) {
	tests := []struct {
		name    string
		errcode int
		kind    string
	}{
		{"rate limited", wechat.ErrCodeRateLimited, "wechat"},
		{"busy", wechat.ErrCodeSystemBusy, "unavailable"},
		{"high risk", wechat.ErrCodeHighRisk, "wechat"},
		{"code used", wechat.ErrCodeCodeUsed, models.KindRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newMiniWorld(t)
			w.sim.SetFault("jscode2session", wechatsim.Fault{ErrCode: tt.errcode, Count: 1})
			_, err := w.gate(t, "a").Exchange(context.Background(), exchange.Request{Kind: exchange.KindMini, Code: miniCode(t, w, "zhangsan")})
			var f *exchange.Failed
			if !errors.As(err, &f) || f.Kind != tt.kind || f.ErrCode != tt.errcode {
				t.Fatalf("got %v (%+v), want kind %s errcode %d", err, f, tt.kind, tt.errcode)
			}
		})
	}
}

// People across apps: the same unionid is one user with two identities,
// whichever app came first; without a unionid, two users.
func TestOnePersonAcrossApps(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		miniBoth bool // mini program first
		sameUser bool
	}{
		{"web then mini", "zhangsan", false, true},
		{"mini then web", "emoji", true, true},
		{"no unionid", "nounion", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newMiniWorld(t)
			g := w.gate(t, "a")
			ctx := context.Background()
			web := func() exchange.Result {
				res, err := g.Exchange(ctx, exchange.Request{Code: mustCode(t, w.world, tt.user), State: "s-" + tt.user, BrowserID: "b", MayClaim: true})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			mini := func() exchange.Result {
				res, err := g.Exchange(ctx, exchange.Request{Kind: exchange.KindMini, Code: miniCode(t, w, tt.user)})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			var a, b exchange.Result
			if tt.miniBoth {
				b, a = mini(), web()
			} else {
				a, b = web(), mini()
			}
			if (a.UserID == b.UserID) != tt.sameUser {
				t.Fatalf("web user %d, mini user %d, want same: %v", a.UserID, b.UserID, tt.sameUser)
			}
			ids, err := w.db.UserIdentities(ctx, a.UserID)
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if tt.sameUser {
				want = 2
			}
			if len(ids) != want {
				t.Fatalf("identities %+v, want %d", ids, want)
			}
			u, err := w.db.UserByID(ctx, a.UserID)
			if err != nil || u.OpenID != w.user(t, tt.user).OpenID {
				t.Fatalf("user's Official Account openid %q (%v)", u.OpenID, err)
			}
			if tt.sameUser && (ids[1].LinkedBy != models.LinkedUnionID || ids[0].LinkedBy != models.LinkedFirst) {
				t.Fatalf("linked by %s, %s", ids[0].LinkedBy, ids[1].LinkedBy)
			}
		})
	}
}

func (w *world) user(t *testing.T, key string) wechatsim.User {
	t.Helper()
	for _, u := range w.sim.Users() {
		if u.Key == key {
			return u
		}
	}
	t.Fatalf("no user %q", key)
	return wechatsim.User{}
}
