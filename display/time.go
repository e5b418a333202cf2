package display

import (
	"sync"
	"time"
)

// Beijing is the time zone every page shows times in (China Standard Time).
// The tz database may be missing in a minimal container; CST has had no
// daylight saving since 1991, so a fixed +08:00 is an exact fallback.
var Beijing = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
})

// Time formats t in Beijing time with layout; the zero time shows as "—".
func Time(t time.Time, layout string) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(Beijing()).Format(layout)
}

// TimePtr is Time for an optional time; nil shows as "—".
func TimePtr(t *time.Time, layout string) string {
	if t == nil {
		return "—"
	}
	return Time(*t, layout)
}
