package qrlogin

import (
	"context"
	"time"

	"wxlogin/models"
)

// Status is the computer's poll: the ticket's status for the browser that
// owns it. The first call after the phone confirmed consumes the ticket and
// returns Confirmed with the user to log in; every later call, and any call
// from another browser, never does. Other browsers get ErrNotFound, exactly
// as for a ticket that does not exist.
func (s *Service) Status(ctx context.Context, t, browserID string) (status string, userID int64, err error) {
	if !Valid(t) || browserID == "" {
		return "", 0, ErrNotFound
	}
	th, bh := hashTicket(t), BrowserHash(browserID)
	for try := 0; try < 2; try++ {
		uid, ok, err := s.db.ConsumeQRLogin(ctx, th, bh, s.cfg.Now())
		if err != nil {
			return "", 0, err
		}
		if ok {
			return Confirmed, uid, nil
		}
		q, err := s.lookup(ctx, t)
		if err != nil {
			return "", 0, err
		}
		if q.BrowserHash != bh {
			return "", 0, ErrNotFound
		}
		now := s.cfg.Now()
		switch {
		case q.ConsumedAt != nil:
			// Used: this browser was logged in by it already (its session
			// id has changed since, so this is a replayed poll).
			return Expired, 0, nil
		case (q.Status == Waiting || q.Status == Scanned) && !now.Before(q.ExpiresAt):
			if _, err := s.db.ExpireQRLogin(ctx, th, now); err != nil {
				return "", 0, err
			}
			return Expired, 0, nil
		case q.Status == Confirmed && !now.Before(q.ExpiresAt):
			// Confirmed but not collected in time: the approval lapsed.
			return Expired, 0, nil
		case q.Status == Confirmed:
			// The phone confirmed between the UPDATE and the read: try
			// the UPDATE once more, which decides.
			continue
		}
		return q.Status, 0, nil
	}
	return Scanned, 0, nil
}

// Owned returns the ticket if browserID owns it (the computer's page after
// the no-script "check" button), else ErrNotFound.
func (s *Service) Owned(ctx context.Context, t, browserID string) (*Ticket, error) {
	if browserID == "" {
		return nil, ErrNotFound
	}
	q, err := s.lookup(ctx, t)
	if err != nil {
		return nil, err
	}
	if q.BrowserHash != BrowserHash(browserID) {
		return nil, ErrNotFound
	}
	return ticketOf(q), nil
}

// Scan marks the ticket scanned by userID, the person logged in on the
// phone, and returns it for the confirmation page. The same person opening
// it again (a reload) gets it again; anybody else makes it final (Taken):
// a code two people scanned was seen by somebody it was not meant for.
func (s *Service) Scan(ctx context.Context, t string, userID int64) (*Ticket, error) {
	if !Valid(t) {
		return nil, ErrNotFound
	}
	th := hashTicket(t)
	now := s.cfg.Now()
	ok, err := s.db.ScanQRLogin(ctx, th, userID, now)
	if err != nil {
		return nil, err
	}
	q, err := s.lookup(ctx, t)
	if err != nil {
		return nil, err
	}
	if ok {
		return ticketOf(q), nil
	}
	if err := s.final(ctx, q, th, now); err != nil {
		return nil, err
	}
	if q.Status == Scanned && sameUser(q.UserID, userID) {
		return ticketOf(q), nil
	}
	if q.Status == Scanned {
		if _, err := s.db.RefuseQRLogin(ctx, th, userID, now); err != nil {
			return nil, err
		}
		return nil, &FinalError{Status: Taken}
	}
	// Waiting yet not scannable: the UPDATE lost a race; the row is
	// final or scanned by now, and a second look decides.
	return nil, &FinalError{Status: Taken}
}

// Confirm is the phone's 确认登录: the ticket that userID scanned becomes
// confirmed, approved by the phone session whose stored id hash is
// approverSession (the login log shows it); the computer's next poll
// collects it.
func (s *Service) Confirm(ctx context.Context, t string, userID int64, approverSession, approverIP string) error {
	return s.decide(ctx, t, userID, func(th string) (bool, error) {
		now := s.cfg.Now()
		return s.db.ConfirmQRLogin(ctx, th, userID, approverSession, truncate(approverIP, 64),
			now, now.Add(s.cfg.PickUp))
	})
}

// Cancel is the phone's 取消: the ticket that userID scanned is cancelled.
func (s *Service) Cancel(ctx context.Context, t string, userID int64) error {
	return s.decide(ctx, t, userID, func(th string) (bool, error) {
		return s.db.CancelQRLogin(ctx, th, userID, s.cfg.Now())
	})
}

// decide runs a phone's decision; when it moved nothing, it says why.
func (s *Service) decide(ctx context.Context, t string, userID int64, move func(th string) (bool, error)) error {
	if !Valid(t) {
		return ErrNotFound
	}
	th := hashTicket(t)
	ok, err := move(th)
	if err != nil || ok {
		return err
	}
	q, err := s.lookup(ctx, t)
	if err != nil {
		return err
	}
	if !sameUser(q.UserID, userID) {
		// Not scanned by this person: as if it did not exist.
		return ErrNotFound
	}
	if err := s.final(ctx, q, th, s.cfg.Now()); err != nil {
		return err
	}
	return &FinalError{Status: Expired}
}

// final returns the FinalError for a row that is final (or has just
// expired), nil for one that is still waiting or scanned and live.
func (s *Service) final(ctx context.Context, q *models.QRLogin, th string, now time.Time) error {
	switch {
	case q.ConsumedAt != nil:
		return &FinalError{Status: Used}
	case q.Status == Confirmed || q.Status == Cancelled || q.Status == Expired:
		return &FinalError{Status: q.Status}
	case !now.Before(q.ExpiresAt):
		if _, err := s.db.ExpireQRLogin(ctx, th, now); err != nil {
			return err
		}
		return &FinalError{Status: Expired}
	}
	return nil
}

func sameUser(p *int64, id int64) bool { return p != nil && *p == id }
