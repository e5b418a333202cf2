package e2e

import "strings"

// contrastJS finds, in the rendered page, text below WCAG AA contrast
// (4.5:1, 3:1 for large text) and controls whose edge is below 3:1 against
// what surrounds them, with colours as the browser computed them: alpha
// blended over the nearest backgrounds, in the current colour scheme.
// Hidden, visually-hidden and disabled elements are skipped (WCAG exempts
// disabled controls). It returns one line per problem.
const contrastJS = `(() => {
  const parse = s => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (fg, bg) => [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat(1);
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const bgOf = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let bg = parse(getComputedStyle(document.documentElement).backgroundColor);
    if (!bg || bg[3] < 1) bg = matchMedia('(prefers-color-scheme: dark)').matches ? [0, 0, 0, 1] : [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg; };
  const hidden = el => { for (let e = el; e; e = e.parentElement) { const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || Number(s.opacity) === 0 || (s.position === 'absolute' && s.clip === 'rect(0px, 0px, 0px, 0px)')) return true; }
    return false; };
  const disabled = el => !!el.closest(':disabled, [aria-disabled="true"], .disabled');
  const name = el => el.tagName.toLowerCase() + (el.type && el.tagName === 'INPUT' ? '[type=' + el.type + ']' : '') + (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : '') + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement; if (!n.textContent.trim() || !el || seen.has(el)) continue; seen.add(el);
    if (hidden(el) || disabled(el) || el.closest('svg')) continue;
    const s = getComputedStyle(el); const bg = bgOf(el); const fg = over(parse(s.color), bg);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const r = ratio(fg, bg);
    if (r < need) out.push('text ' + r.toFixed(2) + ':1 < ' + need + ' ' + name(el) + ' "' + n.textContent.trim().slice(0, 30) + '"');
  }
  for (const el of document.querySelectorAll('button, input:not([type=hidden]), select, textarea, a.btn, a.btn-small')) {
    if (hidden(el) || disabled(el)) continue;
    // A checkbox or radio drawn by the browser (appearance auto, no author
    // colours) is exempt from WCAG 1.4.11, and its computed style does not
    // describe what is drawn.
    if ((el.type === 'checkbox' || el.type === 'radio') && getComputedStyle(el).appearance === 'auto' && getComputedStyle(el).accentColor === 'auto') continue;
    const s = getComputedStyle(el); const outside = bgOf(el.parentElement || document.body);
    const fill = parse(s.backgroundColor); const inside = fill && fill[3] > 0 ? over(fill, outside) : outside;
    const bw = parseFloat(s.borderTopWidth) || 0; const border = bw > 0 ? over(parse(s.borderTopColor), outside) : null;
    const edge = Math.max(ratio(inside, outside), border ? ratio(border, outside) : 0);
    if (edge < 3 && !(s.textDecorationLine.includes('underline'))) out.push('control edge ' + edge.toFixed(2) + ':1 < 3 ' + name(el));
  }
  return out;
})()`

// checkContrast reports every contrast problem of our own pages (the
// simulator's pages stand for WeChat's, which are not ours to fix).
func (b *browser) checkContrast(name string) {
	b.t.Helper()
	if strings.HasPrefix(eval[string](b, `location.pathname`), "/_sim/") {
		return
	}
	for _, p := range eval[[]string](b, contrastJS) {
		b.t.Errorf("%s: contrast: %s", name, p)
	}
}
