package admin

import (
	"math"
	"strconv"
)

// chart is a bar chart laid out in Go and drawn by the _chart template as
// inline SVG: no script, no library, nothing from another origin. All
// coordinates are in the SVG's own units (viewBox); CSS scales it to the
// screen, so it works on a phone and a desktop alike.
type chart struct {
	ID, Title, Desc string
	Width, Height   int
	Left, Top       string // plot area origin
	Right, Bottom   string // plot area far edges
	Bars            []bar
	YTicks, XTicks  []tick
	Empty           bool // every value is zero
}

type bar struct {
	X, Y, W, H string
	Title      string
}

type tick struct {
	X, Y  string
	Label string
}

// point is one bar's value and labels.
type point struct {
	Value float64
	Tick  string // shown under the axis when non-empty
	Title string // the bar's tooltip (SVG <title>), also read by screen readers
}

const (
	chartW       = 720
	chartH       = 240
	padL, padR   = 72.0, 28.0
	padT, padB   = 16.0, 36.0
	barGapFactor = 0.2
)

// newChart lays out points as bars under a "nice" maximum (at least minMax),
// with three horizontal grid lines labelled by yLabel.
func newChart(id, title, desc string, pts []point, minMax float64, yLabel func(float64) string) chart {
	c := chart{ID: id, Title: title, Desc: desc, Width: chartW, Height: chartH,
		Left: f1(padL), Top: f1(padT), Right: f1(chartW - padR), Bottom: f1(chartH - padB), Empty: true}
	hi := minMax
	for _, p := range pts {
		hi = math.Max(hi, p.Value)
		if p.Value > 0 {
			c.Empty = false
		}
	}
	top := niceCeil(hi)
	plotW := chartW - padL - padR
	plotH := chartH - padT - padB
	for i := 0; i <= 2; i++ {
		v := top * float64(i) / 2
		y := chartH - padB - plotH*float64(i)/2
		c.YTicks = append(c.YTicks, tick{X: f1(padL - 6), Y: f1(y), Label: yLabel(v)})
	}
	if len(pts) == 0 {
		return c
	}
	slot := plotW / float64(len(pts))
	w := slot * (1 - barGapFactor)
	for i, p := range pts {
		x := padL + slot*float64(i) + (slot-w)/2
		h := 0.0
		if top > 0 {
			h = plotH * p.Value / top
		}
		c.Bars = append(c.Bars, bar{X: f1(x), Y: f1(chartH - padB - h), W: f1(w), H: f1(h), Title: p.Title})
		if p.Tick != "" {
			c.XTicks = append(c.XTicks, tick{X: f1(x + w/2), Y: f1(chartH - padB + 26), Label: p.Tick})
		}
	}
	return c
}

// niceCeil rounds v up to 1, 2, 4, 6, 8 or 10 times a power of ten (0
// becomes 1), so that half of it, the middle grid line, is a round number.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 6, 8, 10} {
		if v <= m*exp*(1+1e-9) {
			return m * exp
		}
	}
	return 10 * exp
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// countLabel prints a count axis value without decimals when it has none.
func countLabel(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// pctLabel prints a share (0.05) as a percentage ("5%").
func pctLabel(v float64) string {
	p := v * 100
	if p == math.Trunc(p) {
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}
