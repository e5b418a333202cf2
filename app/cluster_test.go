package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gorilla/securecookie"

	"wxlogin/config"
	"wxlogin/dbsession"
	"wxlogin/exchange"
)

// cluster is several wxlogin instances on one database behind one test load
// balancer, so a browser's cookies reach every instance. A request goes to
// the instance named by its X-Test-Instance header, else round-robin.
type cluster struct {
	URL  string
	Apps []*App
	rr   atomic.Uint64
}

func (e *env) cluster(n int, o Options) *cluster { return e.clusterWith(n, nil, o) }

// clusterWith is cluster with extra environment variables; the instances
// start at the same moment (each migrates, as processes starting together
// would).
func (e *env) clusterWith(n int, extra map[string]string, o Options) *cluster {
	e.t.Helper()
	lb := httptest.NewUnstartedServer(nil)
	cl := &cluster{URL: "http://" + lb.Listener.Addr().String(), Apps: make([]*App, n)}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		name := "inst" + strconv.Itoa(i)
		vars := map[string]string{
			"DATABASE_URL": e.DBURL, "BASE_URL": cl.URL,
			"WECHAT_APPID": e.Sim.AppID(), "WECHAT_SECRET": e.Sim.Secret(),
			"WECHAT_OAUTH_URL": e.SimSrv.URL, "WECHAT_API_URL": e.SimSrv.URL,
			"WECHAT_SCOPE": "snsapi_userinfo", // as in env.start: these tests read the nickname after a login
			"SESSION_KEYS": testSessionKey, "TOKEN_KEY": testTokenKey, "INSTANCE_ID": name,
		}
		for k, v := range extra {
			vars[k] = v
		}
		cfg, err := config.Load(func(k string) string { return vars[k] })
		if err != nil {
			e.t.Fatal(err)
		}
		oo := o
		oo.Logger = slog.New(slog.NewTextHandler(e.Logs, nil)).With("instance", name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			cl.Apps[i], errs[i] = New(context.Background(), cfg, oo)
		}()
	}
	close(start)
	wg.Wait()
	for _, a := range cl.Apps {
		if a != nil {
			ctx, cancel := context.WithCancel(context.Background())
			a.Start(ctx)
			e.t.Cleanup(func() { cancel(); _ = a.Close() })
		}
	}
	for i, err := range errs {
		if err != nil {
			e.t.Fatalf("instance %d: %v", i, err)
		}
	}
	lb.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(cl.rr.Add(1)) % len(cl.Apps)
		if s := r.Header.Get("X-Test-Instance"); s != "" {
			i, _ = strconv.Atoi(s)
		}
		cl.Apps[i].Handler.ServeHTTP(w, r)
	})
	lb.Start()
	e.t.Cleanup(lb.Close)
	return cl
}

func (cl *cluster) instance() *instance { return &instance{URL: cl.URL} }

// getOn sends a GET to one instance of the cluster.
func (b *browser) getOn(ctx context.Context, rawURL string, inst int) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("User-Agent", androidUA)
	req.Header.Set("X-Test-Instance", strconv.Itoa(inst))
	res, err := b.c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer res.Body.Close()
	return page{Status: res.StatusCode, Location: res.Header.Get("Location")}, nil
}

// browserHash is what the gate stores for this browser's current session:
// the test decodes its own signed cookie, as the server does.
func (b *browser) browserHash(t *testing.T, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	key, _ := hexKey(testSessionKey)
	codec := securecookie.New(key, nil).SetSerializer(securecookie.NopEncoder{})
	for _, c := range b.jar.Cookies(u) {
		if c.Name != "wxl_session" {
			continue
		}
		var raw []byte
		if err := codec.Decode(c.Name, c.Value, &raw); err == nil {
			return exchange.Hash(string(raw)) // a logged-in session's signed id
		}
		// Before login the session is sealed in the cookie: its browser id is
		// what the store presents. No repo: a sealed cookie is opened without
		// the database, and a signed one was handled above.
		store, err := dbsession.New(nil, dbsession.Config{Kind: "user", CookieName: c.Name, Keys: [][]byte{key}})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, base, nil)
		r.AddCookie(c)
		id := store.PresentedID(r)
		if id == "" {
			t.Fatal("the session cookie opens neither as a signed id nor as a sealed session")
		}
		return exchange.Hash(id)
	}
	t.Fatal("no session cookie")
	return ""
}
