package wechatsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Push modes, as the MP backend names them.
const (
	PushPlaintext  = "plaintext"
	PushCompatible = "compatible"
	PushSafe       = "safe"
)

// PushConfig is the account's server configuration (服务器配置) as the
// simulator plays WeChat's side of it.
type PushConfig struct {
	// URLs receive the pushes. With Duplicate, every attempt goes to all of
	// them at once (two instances behind a load balancer both getting it);
	// otherwise attempts go to URLs[0], and a retry to the next URL in
	// turn (WeChat's retries land on whichever instance is picked).
	URLs      []string
	Duplicate bool
	Token     string
	AESKey    string // required for compatible and safe mode
	Mode      string // PushPlaintext (default), PushCompatible, PushSafe
	// ToUserName is the account's original id (gh_...); default gh_wxsim.
	ToUserName string
	// Timeout is how long WeChat waits for an answer (5 s); Retries how
	// many times it retries an unanswered or failed push (3).
	Timeout time.Duration
	Retries int
	// Client sends the pushes; default a client of its own.
	Client *http.Client
	// BeforeRetry, when set, runs before each retry (attempt 2..), e.g. a
	// test holding retries until a database is back.
	BeforeRetry func(attempt int)
}

// PushEvent is one message or event to push.
type PushEvent struct {
	OpenID     string
	MsgType    string // "event" (default when Event is set), "text", ...
	Event      string // subscribe, unsubscribe, VIEW, CLICK, SCAN, ...
	EventKey   string
	MenuID     string
	Content    string
	MsgID      int64 // messages; 0: none
	CreateTime time.Time
}

// PushAttempt is what one delivery attempt to one URL got back.
type PushAttempt struct {
	URL     string
	Attempt int
	Status  int // 0: no answer within Timeout (or a transport error)
	Body    string
}

// PushResult is the whole story of one push.
type PushResult struct {
	Attempts  []PushAttempt
	Delivered bool // some attempt got 200 with `success` or an empty body
}

// ConfigurePush sets the server configuration pushes use.
func (s *Sim) ConfigurePush(c PushConfig) {
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.Mode == "" {
		c.Mode = PushPlaintext
	}
	if c.ToUserName == "" {
		c.ToUserName = "gh_wxsim"
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	s.mu.Lock()
	s.push = &c
	s.mu.Unlock()
}

func (s *Sim) pushConfig() (PushConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.push == nil || len(s.push.URLs) == 0 {
		return PushConfig{}, false
	}
	return *s.push, true
}

// ErrPushOff is returned by Push when no server configuration is set.
var ErrPushOff = errors.New("wechatsim: pushes are not configured")

// Push delivers ev as WeChat does: signed (and sealed in compatible or safe
// mode), waiting Timeout for an answer and retrying up to Retries times
// when there is none, or it is not `success`/empty. Every attempt of one
// push carries the same body (a retry is the same message); each attempt is
// signed afresh with its own timestamp and nonce.
func (s *Sim) Push(ctx context.Context, ev PushEvent) (PushResult, error) {
	return s.PushWith(ctx, ev, nil)
}

// PushWith is Push with a hook run before each retry (attempt 2, 3, …) of
// this push, after PushConfig.BeforeRetry; tests hold retries with it.
func (s *Sim) PushWith(ctx context.Context, ev PushEvent, beforeRetry func(attempt int)) (PushResult, error) {
	c, ok := s.pushConfig()
	if !ok {
		return PushResult{}, ErrPushOff
	}
	msg := pushXML(c.ToUserName, ev)
	var res PushResult
	for attempt := 1; attempt <= 1+c.Retries; attempt++ {
		if attempt > 1 && c.BeforeRetry != nil {
			c.BeforeRetry(attempt)
		}
		if attempt > 1 && beforeRetry != nil {
			beforeRetry(attempt)
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		targets := c.URLs[:1]
		if c.Duplicate {
			targets = c.URLs
		} else if len(c.URLs) > 1 {
			targets = []string{c.URLs[(attempt-1)%len(c.URLs)]}
		}
		req, err := s.signedPush(c, msg)
		if err != nil {
			return res, err
		}
		got := make([]PushAttempt, len(targets))
		var wg sync.WaitGroup
		for i, u := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i] = deliver(ctx, c, u, req, attempt)
			}()
		}
		wg.Wait()
		res.Attempts = append(res.Attempts, got...)
		for _, a := range got {
			if a.Status == http.StatusOK && (a.Body == "success" || a.Body == "") {
				res.Delivered = true
			}
		}
		s.mu.Lock()
		s.stats.Pushes += len(got)
		s.mu.Unlock()
		if res.Delivered {
			return res, nil
		}
	}
	return res, nil
}

// signed is one attempt's query and body.
type signed struct {
	query string
	body  []byte
}

func (s *Sim) signedPush(c PushConfig, msg []byte) (signed, error) {
	ts := strconv.FormatInt(s.o.Now().Unix(), 10)
	nb := make([]byte, 8)
	_, _ = rand.Read(nb)
	nonce := strconv.FormatUint(uint64(nb[0])<<24|uint64(nb[1])<<16|uint64(nb[2])<<8|uint64(nb[3]), 10) + hex.EncodeToString(nb[4:])
	q := url.Values{}
	q.Set("signature", pushSignature(c.Token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	if c.Mode == PushPlaintext {
		return signed{q.Encode(), msg}, nil
	}
	enc, err := sealPush(c.AESKey, s.o.AppID, msg)
	if err != nil {
		return signed{}, err
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", pushSignature(c.Token, ts, nonce, enc))
	var body []byte
	if c.Mode == PushCompatible {
		// Both: the plaintext fields, then <Encrypt>.
		body = append(append([]byte(nil), msg[:len(msg)-len("</xml>")]...), []byte("<Encrypt><![CDATA["+enc+"]]></Encrypt></xml>")...)
	} else {
		body = []byte("<xml><ToUserName><![CDATA[" + c.ToUserName + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	}
	return signed{q.Encode(), body}, nil
}

func deliver(ctx context.Context, c PushConfig, u string, sp signed, attempt int) PushAttempt {
	a := PushAttempt{URL: u, Attempt: attempt}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+sep+sp.query, strings.NewReader(string(sp.body)))
	if err != nil {
		return a
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	resp, err := c.Client.Do(req)
	if err != nil {
		return a
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	a.Status, a.Body = resp.StatusCode, strings.TrimSpace(string(b))
	return a
}

// pushXML is the plaintext message as WeChat writes it.
func pushXML(to string, ev PushEvent) []byte {
	if ev.MsgType == "" {
		ev.MsgType = "event"
	}
	if ev.CreateTime.IsZero() {
		ev.CreateTime = time.Now()
	}
	var b strings.Builder
	cdata := func(name, v string) {
		b.WriteString("<" + name + "><![CDATA[")
		b.WriteString(strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>"))
		b.WriteString("]]></" + name + ">")
	}
	b.WriteString("<xml>")
	cdata("ToUserName", to)
	cdata("FromUserName", ev.OpenID)
	fmt.Fprintf(&b, "<CreateTime>%d</CreateTime>", ev.CreateTime.Unix())
	cdata("MsgType", ev.MsgType)
	if ev.MsgType == "event" {
		cdata("Event", ev.Event)
		if ev.EventKey != "" || ev.Event == "VIEW" || ev.Event == "CLICK" || ev.Event == "SCAN" {
			cdata("EventKey", ev.EventKey)
		}
		if ev.MenuID != "" {
			b.WriteString("<MenuId>")
			_ = xml.EscapeText(&b, []byte(ev.MenuID))
			b.WriteString("</MenuId>")
		}
	} else {
		if ev.Content != "" {
			cdata("Content", ev.Content)
		}
		if ev.MsgID != 0 {
			fmt.Fprintf(&b, "<MsgId>%d</MsgId>", ev.MsgID)
		}
	}
	b.WriteString("</xml>")
	return []byte(b.String())
}
