package wechatsim

import (
	"testing"
	"time"
)

// A simulator under a long storm keeps its tables bounded: codes past their
// remembered life are dropped once the table is large, while fresh ones stay.
func TestPruneDropsExpiredCodesOnly(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := New(Options{Now: func() time.Time { return now }})
	var old string
	for i := range maxEntries {
		c, err := s.IssueCode("zhangsan", scopeBase)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			old = c
		}
	}
	now = now.Add(usedCodeTTL + time.Second)
	fresh, _ := s.IssueCode("zhangsan", scopeBase)
	s.mu.Lock()
	n := len(s.codes)
	_, oldKept := s.codes[old]
	_, freshKept := s.codes[fresh]
	s.mu.Unlock()
	if n != 1 || oldKept || !freshKept {
		t.Fatalf("after pruning: %d codes, old kept %v, fresh kept %v; want only the fresh one", n, oldKept, freshKept)
	}
}
