package exchange_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/exchange"
	"wxlogin/models"
	"wxlogin/testdb"
	"wxlogin/tokencrypt"
	"wxlogin/wechat"
)

// The benchmarks replace WeChat with benchWX, which answers at once (or
// when released), so what they measure is wxlogin's own cost: the database
// writes, the in-process flights and the cross-instance wake-ups. The
// database is real Postgres (testdb).

// benchWX answers like WeChat with a distinct openid per code, optionally
// holding the exchange until released.
type benchWX struct {
	hold    chan struct{} // nil: answer at once
	started chan struct{} // receives when an exchange begins (if non-nil)
}

func (w *benchWX) ExchangeCode(ctx context.Context, code string) (*wechat.Token, error) {
	if w.started != nil {
		w.started <- struct{}{}
	}
	if w.hold != nil {
		select {
		case <-w.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &wechat.Token{AccessToken: "at-" + code, RefreshToken: "rt-" + code, ExpiresIn: 7200,
		OpenID: "o" + code, Scope: "snsapi_userinfo", UnionID: "u" + code}, nil
}

func (w *benchWX) UserInfo(_ context.Context, _, openid, _ string) (*wechat.UserInfo, error) {
	return &wechat.UserInfo{OpenID: openid, Nickname: "张三", Sex: 1, Province: "广东", City: "广州", Country: "中国",
		HeadImgURL: "https://thirdwx.qlogo.cn/mmopen/x/132", Privilege: []string{}}, nil
}

// benchPendingSpy is the real database, telling when a follower first read a
// pending row (so the benchmark knows the duplicate is really waiting).
type benchPendingSpy struct {
	*models.DB
	pending chan struct{}
}

func (s *benchPendingSpy) ExchangeByCode(ctx context.Context, codeHash string) (*models.CodeExchange, error) {
	row, err := s.DB.ExchangeByCode(ctx, codeHash)
	if err == nil && row.Status == models.StatusPending {
		select {
		case s.pending <- struct{}{}:
		default:
		}
	}
	return row, err
}

func benchSealer(b *testing.B) exchange.Sealer {
	s, err := tokencrypt.New([][]byte{make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchGate(b *testing.B, store exchange.Store, wx exchange.WeChat, instance string) *exchange.Gate {
	return exchange.New(store, wx, benchSealer(b), exchange.Config{Instance: instance, Logger: slog.New(slog.DiscardHandler)})
}

var benchSeq atomic.Int64

// benchRequest is a fresh login's callback: new code, state and browser.
func benchRequest() exchange.Request {
	n := strconv.FormatInt(benchSeq.Add(1), 36) + strconv.FormatInt(time.Now().UnixNano(), 36)
	return exchange.Request{Code: "c" + n, State: "s" + n, BrowserID: "b" + n, Next: "/profile", Scope: "snsapi_userinfo", MayClaim: true}
}

// BenchmarkClaim is the exactly-once gate's first write: INSERT ... ON
// CONFLICT DO NOTHING of a pending row (new codes) or the conflict of a
// code that is already claimed.
func BenchmarkClaim(b *testing.B) {
	db := testdb.Open(b)
	row := func() *models.CodeExchange {
		r := benchRequest()
		now := time.Now().UTC()
		return &models.CodeExchange{CodeHash: exchange.Hash(r.Code), StateHash: exchange.Hash(r.State), BrowserHash: exchange.Hash(r.BrowserID),
			NextPath: "/profile", Scope: r.Scope, Status: models.StatusPending, Owner: "bench", LeaseUntil: now.Add(15 * time.Second),
			Attempts: 1, CreatedAt: now, UpdatedAt: now}
	}
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _, err := db.ClaimExchange(context.Background(), row(), 15*time.Second); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("conflict", func(b *testing.B) {
		taken := row()
		if _, _, err := db.ClaimExchange(context.Background(), taken, 15*time.Second); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			again := *taken
			again.ID = 0
			if ok, _, err := db.ClaimExchange(context.Background(), &again, 15*time.Second); err != nil || ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkOwner is one whole owned exchange with an instant WeChat: claim,
// token sealing, the user upsert and the row's completion (with its NOTIFY).
func BenchmarkOwner(b *testing.B) {
	db := testdb.Open(b)
	g := benchGate(b, db, &benchWX{}, "bench")
	b.ReportAllocs()
	for b.Loop() {
		res, err := g.Exchange(context.Background(), benchRequest())
		if err != nil || res.UserID == 0 {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkDuplicateAfterOwner measures how long after its owner a
// duplicate callback is answered: the owner is held inside the WeChat call
// until the duplicate waits for it, then released; the metric is the
// duplicate's return minus the owner's. "same-instance" waits on the
// in-process flight; "other-instance" is a second gate with its own pool,
// which polls the row and is woken by Postgres NOTIFY, as two wxlogin
// instances are.
func BenchmarkDuplicateAfterOwner(b *testing.B) {
	for _, mode := range []string{"same-instance", "other-instance"} {
		b.Run(mode, func(b *testing.B) {
			db := testdb.Open(b)
			wx := &benchWX{started: make(chan struct{}, 1)}
			owner := benchGate(b, db, wx, "a")
			spy := &benchPendingSpy{DB: db, pending: make(chan struct{}, 1)}
			// On one instance the duplicate does no I/O before it waits on
			// the owner's in-process flight; a millisecond is plenty for it
			// to get there (the pause is outside the measured interval).
			dupGate, ready := owner, func() { time.Sleep(time.Millisecond) }
			if mode == "other-instance" {
				db2, err := models.Open(context.Background(), db.URL, "", models.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = db2.Close() })
				spy.DB = db2
				dupGate = benchGate(b, spy, wx, "b")
				ctx, cancel := context.WithCancel(context.Background())
				b.Cleanup(cancel)
				go models.NewListener(db.URL, slog.New(slog.DiscardHandler), dupGate.Wake).Run(ctx)
				// The other instance's duplicate is waiting once it has read
				// the pending row.
				ready = func() { <-spy.pending }
			}
			var after []time.Duration
			one := func() time.Duration {
				wx.hold = make(chan struct{})
				req := benchRequest()
				select {
				case <-spy.pending: // a stale signal of the previous round
				default:
				}
				var (
					wg       sync.WaitGroup
					ownerEnd time.Time
					ownerErr error
				)
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, ownerErr = owner.Exchange(context.Background(), req)
					ownerEnd = time.Now()
				}()
				<-wx.started
				dupDone := make(chan error, 1)
				var dupEnd time.Time
				go func() {
					res, err := dupGate.Exchange(context.Background(), req)
					dupEnd = time.Now()
					if err == nil && !res.Duplicate {
						err = fmt.Errorf("the duplicate owned the exchange")
					}
					dupDone <- err
				}()
				ready()
				close(wx.hold)
				wg.Wait()
				if err := <-dupDone; err != nil || ownerErr != nil {
					b.Fatal(ownerErr, err)
				}
				return dupEnd.Sub(ownerEnd)
			}
			one() // the listener is connected by now, and the pools are warm
			b.ReportAllocs()
			for b.Loop() {
				after = append(after, one())
			}
			slices.Sort(after)
			b.ReportMetric(float64(after[len(after)/2].Microseconds()), "p50-µs-after-owner")
			b.ReportMetric(float64(after[min(len(after)*99/100, len(after)-1)].Microseconds()), "p99-µs-after-owner")
		})
	}
}
