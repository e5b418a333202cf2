package exchange

// OnJoin makes g call f each time a duplicate joins a flight on it, so a
// test can wait for duplicates to be waiting instead of sleeping. Set it
// before the gate is used.
func OnJoin(g *Gate, f func()) { g.onJoin = f }
