// Package e2e holds wxlogin's browser tests: Debian's Chromium, headless,
// driven from Go over the DevTools protocol (chromedp), against wxlogin
// running in this process on a fresh Postgres database.
//
// They prove what HTML strings cannot: that a person in the WeChat in-app
// browser can log in through the simulator's consent page, that Android's
// double callback really aborts the first navigation and still ends on the
// profile, and that no page logs a console error, breaks the CSP or fails a
// request. Every page is saved as a screenshot (see screensDir); with
// -docs the main pages are also written to docs/screens for the README:
//
//	scripts/with-postgres.sh go test -count=1 ./e2e/ -args -docs
//
// Chromium comes from CHROMIUM_PATH, else `chromium` or `chromium-browser`
// on PATH; `make test` installs it (scripts/ensure-chromium.sh). Without it
// the tests fail, they never skip.
package e2e
