package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// Bounds on what a query may ask for: any value outside them is a 400 page.
const (
	maxParam    = 200    // characters in any one query value
	maxPage     = 100000 // page numbers
	defaultSize = 50
	maxSize     = 100
)

// strictQuery parses the query: it must decode, each named parameter may
// appear at most once and be at most maxParam long. Other names are ignored.
func strictQuery(c *gin.Context, names ...string) (url.Values, bool) {
	vals, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, false
	}
	out := url.Values{}
	for _, n := range names {
		v := vals[n]
		if len(v) > 1 {
			return nil, false
		}
		if len(v) == 1 {
			if len(v[0]) > maxParam {
				return nil, false
			}
			out.Set(n, v[0])
		}
	}
	return out, true
}

// intParam parses an optional integer in [lo, hi]; def when empty.
func intParam(s string, def, lo, hi int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// pager is the state of a paginated list and the links to its neighbours.
type pager struct {
	Page, Size, Pages int
	Total             int64
	PrevURL, NextURL  string
	From, To          int64 // 1-based positions of the first and last row shown
	// Numbers are the page links shown: the first, the last and two on
	// each side of the current one, with gaps (N 0) between.
	Numbers []pageLink
	// LastURL is the last page's link (a page past the end goes there).
	LastURL string
}

// pageLink is one numbered page link; N 0 is a gap ("…").
type pageLink struct {
	N       int
	URL     string
	Current bool
}

// pageParams reads page and size from q.
func pageParams(q url.Values) (page, size int, ok bool) {
	page, ok1 := intParam(q.Get("page"), 1, 1, maxPage)
	size, ok2 := intParam(q.Get("size"), defaultSize, 1, maxSize)
	return page, size, ok1 && ok2
}

// newPager builds the pager; q are the list's other parameters, kept in the links.
func newPager(path string, q url.Values, page, size int, total int64, shown int) pager {
	p := pager{Page: page, Size: size, Total: total}
	p.Pages = int((total + int64(size) - 1) / int64(size))
	if p.Pages == 0 {
		p.Pages = 1
	}
	link := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "page" && len(vs) > 0 && vs[0] != "" {
				v.Set(k, vs[0])
			}
		}
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		if enc := v.Encode(); enc != "" {
			return path + "?" + enc
		}
		return path
	}
	if page > 1 {
		p.PrevURL = link(min(page-1, p.Pages))
	}
	if page < p.Pages {
		p.NextURL = link(page + 1)
	}
	if shown > 0 {
		p.From = int64((page-1)*size) + 1
		p.To = p.From + int64(shown) - 1
	}
	p.LastURL = link(p.Pages)
	last := 0
	for n := 1; n <= p.Pages; n++ {
		if n != 1 && n != p.Pages && (n < page-2 || n > page+2) {
			continue
		}
		if last != 0 && n > last+1 {
			p.Numbers = append(p.Numbers, pageLink{})
		}
		p.Numbers = append(p.Numbers, pageLink{N: n, URL: link(n), Current: n == page})
		last = n
	}
	return p
}

// pastEnd sends a request for a page beyond the last one (a bookmark, a
// list that shrank) to the last page, instead of an empty list that says
// there is nothing at all. It reports whether it did.
func pastEnd(c *gin.Context, p pager) bool {
	if p.Total == 0 || p.Page <= p.Pages {
		return false
	}
	c.Redirect(http.StatusFound, p.LastURL)
	return true
}

// dayParam parses a YYYY-MM-DD date as local midnight; zero when empty.
func dayParam(s string, loc *time.Location) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil || t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, false
	}
	return t, true
}

// dateRange reads the from/to filter (YYYY-MM-DD, Beijing days) into a
// half-open range [from, to+1 day). A bad value is said in errs next to its
// field and dropped from q, so the other filters are kept.
func dateRange(q url.Values, loc *time.Location, errs map[string]string) (from, toExcl time.Time) {
	from, ok := dayParam(q.Get("from"), loc)
	if !ok {
		errs["from"] = "日期格式应为 2026-01-31。"
		q.Del("from")
	}
	to, ok := dayParam(q.Get("to"), loc)
	if !ok {
		errs["to"] = "日期格式应为 2026-01-31。"
		q.Del("to")
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		errs["to"] = "结束日期早于开始日期。"
		to = time.Time{}
		q.Del("to")
	}
	if !to.IsZero() {
		toExcl = to.AddDate(0, 0, 1)
	}
	return from, toExcl
}

func itoa(n int) string { return strconv.Itoa(n) }
