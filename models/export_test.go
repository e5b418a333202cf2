package models

// LoginCompletingSQL exposes the one-statement login's text and arguments
// (placeholders as $n) to the plan-cache test.
func LoginCompletingSQL(l Login, codeHash string, f Fence, sess *Session) (string, []any) {
	q, args := loginCompletingSQL(l, codeHash, f, sess)
	return dollarPlaceholders(q), args
}
