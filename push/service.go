// Package push receives the messages and events WeChat pushes to
// /wechat/notify (wechat-api.md §9): verify → store once → apply. It knows
// no Gin: the handler hands it the query and the body and writes back what
// it answers.
//
// The order is the security argument. The signature over Token, timestamp
// and nonce is checked before the body is read or the database touched; a
// stale timestamp is refused so a captured push cannot be replayed later;
// with an AES key only encrypted pushes pass, and their msg_signature and the
// appid inside are checked. Only then is the push stored, in one transaction
// with its effect, under a UNIQUE key: WeChat's retries (to any instance, at
// the same time or later) find it stored and are answered `success` without
// being handled again. `success` is never answered before the commit, so a
// push is never lost: a database error answers 503 and WeChat retries.
package push

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"wxlogin/models"
	"wxlogin/msgcrypt"
)

// Store is the database as push sees it.
type Store interface {
	StorePush(ctx context.Context, d models.Delivery, p *models.Push) (duplicate bool, err error)
	RecordPushCheck(ctx context.Context, at time.Time) error
}

// Metrics counts outcomes; labels come from fixed sets only.
type Metrics interface {
	// Push counts one delivery: result is ok, duplicate, refused or
	// unavailable; reason is a Reason for refused, else "".
	Push(result, reason string)
}

// Config configures a Service.
type Config struct {
	Token    string // WECHAT_TOKEN
	AESKey   string // WECHAT_AES_KEY; empty: plaintext pushes
	AppID    string // the account's appid, checked inside encrypted pushes
	Instance string
	Store    Store
	Metrics  Metrics
	Now      func() time.Time
}

// Service answers /wechat/notify.
type Service struct {
	token    string
	cipher   *msgcrypt.Cipher
	instance string
	store    Store
	metrics  Metrics
	now      func() time.Time
}

// New builds a Service; the Token must be set (no Token: no route at all).
func New(c Config) (*Service, error) {
	if c.Token == "" {
		return nil, errors.New("push: no Token")
	}
	s := &Service{token: c.Token, instance: c.Instance, store: c.Store, metrics: c.Metrics, now: c.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if c.AESKey != "" {
		ci, err := msgcrypt.New(c.AESKey, c.AppID)
		if err != nil {
			return nil, err
		}
		s.cipher = ci
	}
	return s, nil
}

// Answer is what to send back.
type Answer struct {
	Status int
	Body   string
}

// success is the body WeChat expects; anything else non-XML makes it tell
// the follower the account cannot serve them.
const success = "success"

// Check answers WeChat's server-configuration check (GET): the echostr back
// when the signature is right, else 403.
func (s *Service) Check(ctx context.Context, q url.Values) Answer {
	qq := parseQuery(q)
	echo := q.Get("echostr")
	if r := s.checkQuery(qq, false); r != "" || echo == "" || len(echo) > 128 {
		reason := r
		if reason == "" {
			reason = ReasonMalformed
		}
		s.count("refused", reason)
		return Answer{http.StatusForbidden, "forbidden"}
	}
	// Best effort: the admin page shows when the check last passed; a
	// database hiccup must not fail WeChat's check.
	_ = s.store.RecordPushCheck(ctx, s.now())
	return Answer{http.StatusOK, echo}
}

// Receive handles one delivery (POST). The body is read only after the
// query verified, and at most MaxBody+1 bytes of it.
func (s *Service) Receive(ctx context.Context, q url.Values, body io.Reader) Answer {
	qq := parseQuery(q)
	if r := s.checkQuery(qq, true); r != "" {
		return s.refuse(r)
	}
	b, err := io.ReadAll(io.LimitReader(body, MaxBody+1))
	if err != nil {
		return s.refuse(ReasonMalformed)
	}
	if len(b) > MaxBody {
		return s.refuse(ReasonTooLarge)
	}
	m, mode, r := s.open(qq, b)
	if r != "" {
		return s.refuse(r)
	}
	now := s.now().UTC()
	bodySum := sha256.Sum256(b)
	d := models.Delivery{NonceKey: qq.timestamp + ":" + qq.nonce, BodyHash: hex.EncodeToString(bodySum[:])}
	p := &models.Push{
		DedupeKey: m.DedupeKey(), OpenID: m.FromUserName, ToUser: m.ToUserName, MsgType: m.MsgType, Event: m.Event,
		EventKey: m.EventKey, MenuID: m.MenuID, MsgID: m.MsgID, Content: m.Content, Mode: string(mode),
		Instance: s.instance, CreateTime: time.Unix(m.CreateTime, 0).UTC(), ReceivedAt: now,
	}
	dup, err := s.store.StorePush(ctx, d, p)
	switch {
	case errors.Is(err, models.ErrReplay):
		return s.refuse(ReasonReplay)
	case err != nil:
		s.count("unavailable", "")
		return Answer{http.StatusServiceUnavailable, "unavailable"}
	case dup:
		s.count("duplicate", "")
	default:
		s.count("ok", "")
	}
	return Answer{http.StatusOK, success}
}

func (s *Service) refuse(r Reason) Answer {
	s.count("refused", r)
	if r == ReasonMalformed || r == ReasonTooLarge {
		return Answer{http.StatusBadRequest, "bad request"}
	}
	return Answer{http.StatusForbidden, "forbidden"}
}

func (s *Service) count(result string, r Reason) {
	if s.metrics != nil {
		s.metrics.Push(result, string(r))
	}
}
