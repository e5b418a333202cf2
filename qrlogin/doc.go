// Package qrlogin is the computer login by QR code (issue 16), without Gin
// or HTTP: tickets, their states and who may move them, the description of
// the computer shown on the phone, and the token buckets that bound status
// polling.
//
// A ticket is 192 random bits, shown in the QR code as
// BASE_URL/login/qr/scan?t=TICKET and stored only as its SHA-256. It is
// bound to the computer's browser (the hash of its session's browser id)
// and lives TTL. Its status moves
//
//	waiting -> scanned -> confirmed | cancelled | expired
//
// and every move is one conditional UPDATE that names the status it leaves
// (models/qrlogins.go), so two requests racing on two instances can never
// both move it. The first status poll of the owning browser after
// confirmation consumes the ticket (UPDATE ... WHERE consumed_at IS NULL
// RETURNING user_id): exactly one answer, on one instance, logs the
// computer in. A second person scanning a scanned ticket, a cancel, an
// expiry and a use are all final.
package qrlogin
