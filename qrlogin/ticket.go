package qrlogin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"wxlogin/models"
)

// Store is the part of the database tickets need (models.DB).
type Store interface {
	InsertQRLogin(ctx context.Context, q *models.QRLogin) error
	QRLoginByTicket(ctx context.Context, ticketHash string) (*models.QRLogin, error)
	ScanQRLogin(ctx context.Context, ticketHash string, userID int64, now time.Time) (bool, error)
	RefuseQRLogin(ctx context.Context, ticketHash string, userID int64, now time.Time) (bool, error)
	ConfirmQRLogin(ctx context.Context, ticketHash string, userID int64, approverHash, approverIP string, now, pickUp time.Time) (bool, error)
	CancelQRLogin(ctx context.Context, ticketHash string, userID int64, now time.Time) (bool, error)
	ExpireQRLogin(ctx context.Context, ticketHash string, now time.Time) (bool, error)
	ConsumeQRLogin(ctx context.Context, ticketHash, browserHash string, now time.Time) (int64, bool, error)
}

// Defaults: a code lives three minutes (long enough to find the phone and
// tap twice, short enough that a photographed code goes stale), and a
// confirmed one must be collected by the computer within a minute.
const (
	DefaultTTL    = 3 * time.Minute
	DefaultPickUp = time.Minute
)

// ticketBytes is the ticket's randomness: 192 bits, 32 base64url characters.
const ticketBytes = 24

// TicketLen is the length of every ticket this package issues.
const TicketLen = 32

// maxUA bounds the computer's User-Agent kept with the ticket.
const maxUA = 256

// Statuses as the computer's page and the status JSON name them.
const (
	Waiting   = models.QRWaiting
	Scanned   = models.QRScanned
	Confirmed = models.QRConfirmed
	Cancelled = models.QRCancelled
	Expired   = models.QRExpired
	// Used is how the phone hears of a ticket that already logged a
	// computer in, and Taken of one somebody else scanned first; both are
	// final. Neither is ever a status answer to the computer.
	Used  = "used"
	Taken = "taken"
)

// ErrNotFound: no such ticket, or not one this browser or person may see.
// Callers answer it exactly like a ticket that never existed.
var ErrNotFound = errors.New("qrlogin: no such ticket")

// FinalError is a ticket that can no longer be scanned, confirmed or
// cancelled; Status says why (Confirmed, Cancelled, Expired, Used, Taken).
type FinalError struct{ Status string }

func (e *FinalError) Error() string { return "qrlogin: ticket is " + e.Status }

// Config tunes a Service; zero values take the defaults.
type Config struct {
	TTL    time.Duration
	PickUp time.Duration
	Now    func() time.Time
}

// Service issues tickets and moves their states.
type Service struct {
	db  Store
	cfg Config
}

// New returns a Service over db.
func New(db Store, cfg Config) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.PickUp <= 0 {
		cfg.PickUp = DefaultPickUp
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{db: db, cfg: cfg}
}

// TTL is how long a new ticket lives.
func (s *Service) TTL() time.Duration { return s.cfg.TTL }

// Ticket is what the pages show of a ticket: never its hashes.
type Ticket struct {
	Status    string
	Computer  Computer
	IP        string
	CreatedAt time.Time
	ExpiresAt time.Time
}

func ticketOf(q *models.QRLogin) *Ticket {
	return &Ticket{Status: q.Status, Computer: Describe(q.UserAgent), IP: q.IP, CreatedAt: q.CreatedAt, ExpiresAt: q.ExpiresAt}
}

// Valid reports whether t has the shape of a ticket this package issues:
// anything else (truncated, padded, other alphabets) is refused before any
// database work.
func Valid(t string) bool {
	if len(t) != TicketLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// hashTicket is how a ticket is stored and looked up.
func hashTicket(t string) string { return hashWith("wxlogin qrlogin ticket\x00", t) }

// BrowserHash is how the computer's browser id is bound to a ticket.
func BrowserHash(browserID string) string { return hashWith("wxlogin qrlogin browser\x00", browserID) }

func hashWith(domain, v string) string {
	sum := sha256.Sum256([]byte(domain + v))
	return hex.EncodeToString(sum[:])
}

// Create issues a ticket bound to browserID (the computer's session), with
// the computer's User-Agent and address kept for the phone's confirmation
// page and the login log.
func (s *Service) Create(ctx context.Context, browserID, userAgent, ip string) (string, *Ticket, error) {
	if browserID == "" {
		return "", nil, errors.New("qrlogin: no browser id")
	}
	b := make([]byte, ticketBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	t := base64.RawURLEncoding.EncodeToString(b)
	now := s.cfg.Now().UTC()
	q := &models.QRLogin{
		TicketHash: hashTicket(t), BrowserHash: BrowserHash(browserID), Status: Waiting,
		UserAgent: truncate(userAgent, maxUA), IP: truncate(ip, 64),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL),
	}
	if err := s.db.InsertQRLogin(ctx, q); err != nil {
		return "", nil, err
	}
	return t, ticketOf(q), nil
}

// lookup reads a ticket's row; ErrNotFound when there is none.
func (s *Service) lookup(ctx context.Context, t string) (*models.QRLogin, error) {
	if !Valid(t) {
		return nil, ErrNotFound
	}
	q, err := s.db.QRLoginByTicket(ctx, hashTicket(t))
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrNotFound
	}
	return q, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary: the value goes into a text column.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
