package app

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/config"
)

// signalWriter records writes and signals each one.
type signalWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case w.writes <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// The server's logger batches Info lines (written within the flush
// interval), writes a Warn or Error line at once with the lines before it,
// in order, and writes what is left on close.
func TestBufferedLogger(t *testing.T) {
	w := &signalWriter{writes: make(chan struct{}, 1)}
	log, closeLog := NewBufferedLogger(&config.Config{LogFormat: "json"}, w)
	log.Info("first")
	log.Info("second")
	if got := w.String(); got != "" {
		// The ticker may have fired between the two lines; then both are
		// written already, and the order check below still applies.
		t.Logf("written before the first tick: %q", got)
	}
	select {
	case <-w.writes:
	case <-time.After(10 * time.Second):
		t.Fatal("Info lines were not written within 10 s (the flush loop does not run)")
	}
	log.Info("third")
	log.Warn("a warning")
	out := w.String()
	i3, iw := strings.Index(out, `"msg":"third"`), strings.Index(out, `"msg":"a warning"`)
	if i3 < 0 || iw < 0 || i3 > iw || strings.Index(out, `"msg":"second"`) > i3 {
		t.Fatalf("after a Warn, want every line so far written in order; got %q", out)
	}
	log.Info("last")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.String(), `"msg":"last"`) {
		t.Fatalf("close did not write the last line: %q", w.String())
	}
	if err := closeLog(); err != nil {
		t.Fatalf("a second close: %v", err)
	}
}
