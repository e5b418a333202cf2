// Package qrcode encodes text as a QR Code (ISO/IEC 18004, model 2) in byte
// mode, versions 1 to 40, with any of the four error correction levels, and
// draws it as SVG.
//
// wxlogin needs exactly one thing from a QR library: a code a phone can scan
// for the "open in WeChat" page, drawn on the server so the page needs no
// script and no other origin. That is a few hundred lines, so it lives here
// rather than as a dependency; the tests decode every version and level with
// an independent decoder.
package qrcode

import (
	"errors"
	"math"
)

// Level is the error correction level: the share of the code that may be
// damaged or covered and still decode.
type Level int

// The four levels, weakest first.
const (
	L Level = iota // about 7%
	M              // about 15%
	Q              // about 25%
	H              // about 30%
)

// formatBits is the level's 2-bit value in the format information.
func (l Level) formatBits() int { return [...]int{1, 0, 3, 2}[l] }

// ErrTooLong is returned when the data does not fit version 40 at the level.
var ErrTooLong = errors.New("qrcode: data too long")

// Code is an encoded QR code: Size×Size modules, dark or light, without the
// quiet zone.
type Code struct {
	Size    int
	Version int
	Level   Level
	Mask    int
	modules []bool // row-major, true = dark
}

// Dark reports whether the module at column x, row y is dark; outside the
// symbol (the quiet zone) everything is light.
func (c *Code) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= c.Size || y >= c.Size {
		return false
	}
	return c.modules[y*c.Size+x]
}

// Encode returns the smallest QR code holding data in byte mode at level.
func Encode(data []byte, level Level) (*Code, error) {
	if level < L || level > H {
		return nil, errors.New("qrcode: bad level")
	}
	version := 0
	for v := 1; v <= 40; v++ {
		countBits := 8
		if v >= 10 {
			countBits = 16
		}
		if len(data) < 1<<countBits && 4+countBits+8*len(data) <= numDataCodewords(v, level)*8 {
			version = v
			break
		}
	}
	if version == 0 {
		return nil, ErrTooLong
	}
	codewords := addECCAndInterleave(dataCodewords(data, version, level), version, level)
	return build(codewords, version, level), nil
}

// dataCodewords is the bit stream: mode, count, data, terminator, padding.
func dataCodewords(data []byte, version int, level Level) []byte {
	var bb bitBuffer
	bb.append(0b0100, 4) // byte mode
	countBits := 8
	if version >= 10 {
		countBits = 16
	}
	bb.append(len(data), countBits)
	for _, b := range data {
		bb.append(int(b), 8)
	}
	capacity := numDataCodewords(version, level) * 8
	bb.append(0, min(4, capacity-bb.n))
	bb.append(0, (8-bb.n%8)%8)
	for pad := 0xEC; bb.n < capacity; pad ^= 0xEC ^ 0x11 {
		bb.append(pad, 8)
	}
	return bb.bytes
}

type bitBuffer struct {
	bytes []byte
	n     int
}

func (b *bitBuffer) append(v, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if b.n%8 == 0 {
			b.bytes = append(b.bytes, 0)
		}
		if v>>i&1 == 1 {
			b.bytes[b.n/8] |= 0x80 >> (b.n % 8)
		}
		b.n++
	}
}

// Error correction tables (ISO/IEC 18004 table 9), indexed [level][version].
var eccCodewordsPerBlock = [4][41]int{
	{0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28},
	{0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	{0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
}

var numECCBlocks = [4][41]int{
	{0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25},
	{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49},
	{0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68},
	{0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81},
}

// numRawDataModules is how many modules of a version are left for data and
// error correction once the function patterns are drawn.
func numRawDataModules(version int) int {
	n := (16*version+128)*version + 64
	if version >= 2 {
		align := version/7 + 2
		n -= (25*align-10)*align - 55
		if version >= 7 {
			n -= 36
		}
	}
	return n
}

func numDataCodewords(version int, level Level) int {
	return numRawDataModules(version)/8 - eccCodewordsPerBlock[level][version]*numECCBlocks[level][version]
}

// addECCAndInterleave splits the data into blocks, appends each block's
// Reed-Solomon codewords and interleaves the blocks column by column.
func addECCAndInterleave(data []byte, version int, level Level) []byte {
	numBlocks := numECCBlocks[level][version]
	eccLen := eccCodewordsPerBlock[level][version]
	raw := numRawDataModules(version) / 8
	numShort := numBlocks - raw%numBlocks
	shortLen := raw / numBlocks
	gen := rsGenerator(eccLen)
	blocks := make([][]byte, numBlocks)
	for i, k := 0, 0; i < numBlocks; i++ {
		n := shortLen - eccLen
		if i >= numShort {
			n++
		}
		dat := data[k : k+n]
		k += n
		ecc := rsRemainder(dat, gen)
		b := make([]byte, 0, shortLen+1)
		b = append(b, dat...)
		if i < numShort {
			b = append(b, 0) // placeholder so every block has the same length
		}
		blocks[i] = append(b, ecc...)
	}
	out := make([]byte, 0, raw)
	for i := 0; i <= shortLen; i++ {
		for j, b := range blocks {
			if i != shortLen-eccLen || j >= numShort {
				out = append(out, b[i])
			}
		}
	}
	return out
}

// gfMul multiplies in GF(2^8) modulo x^8+x^4+x^3+x^2+1.
func gfMul(x, y byte) byte {
	var z int
	for i := 7; i >= 0; i-- {
		z = z<<1 ^ (z>>7)*0x11D
		z ^= int(y>>i&1) * int(x)
	}
	return byte(z)
}

// rsGenerator returns the coefficients (highest first, leading 1 dropped)
// of the product of (x - α^i) for i in 0..degree-1.
func rsGenerator(degree int) []byte {
	res := make([]byte, degree)
	res[degree-1] = 1
	root := byte(1)
	for range degree {
		for j := range res {
			res[j] = gfMul(res[j], root)
			if j+1 < len(res) {
				res[j] ^= res[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return res
}

func rsRemainder(data, gen []byte) []byte {
	res := make([]byte, len(gen))
	for _, b := range data {
		factor := b ^ res[0]
		copy(res, res[1:])
		res[len(res)-1] = 0
		for i, g := range gen {
			res[i] ^= gfMul(g, factor)
		}
	}
	return res
}

// grid is the symbol under construction.
type grid struct {
	size     int
	dark     []bool
	function []bool // finder, timing, alignment, format, version modules
}

func (g *grid) set(x, y int, dark bool) { g.dark[y*g.size+x] = dark }

func (g *grid) setFunction(x, y int, dark bool) {
	g.dark[y*g.size+x] = dark
	g.function[y*g.size+x] = true
}

// build draws everything, tries the eight masks and keeps the one with the
// lowest penalty, as the standard asks.
func build(codewords []byte, version int, level Level) *Code {
	size := version*4 + 17
	g := &grid{size: size, dark: make([]bool, size*size), function: make([]bool, size*size)}
	g.drawFunctionPatterns(version, level)
	g.drawCodewords(codewords)
	best, bestPenalty := 0, math.MaxInt
	for mask := range 8 {
		g.applyMask(mask)
		g.drawFormat(level, mask)
		if p := g.penalty(); p < bestPenalty {
			best, bestPenalty = mask, p
		}
		g.applyMask(mask) // XOR again undoes it
	}
	g.applyMask(best)
	g.drawFormat(level, best)
	return &Code{Size: size, Version: version, Level: level, Mask: best, modules: g.dark}
}

func (g *grid) drawFunctionPatterns(version int, level Level) {
	for i := range g.size {
		g.setFunction(6, i, i%2 == 0)
		g.setFunction(i, 6, i%2 == 0)
	}
	g.drawFinder(3, 3)
	g.drawFinder(g.size-4, 3)
	g.drawFinder(3, g.size-4)
	pos := alignmentPositions(version)
	for i, x := range pos {
		for j, y := range pos {
			// Not over the three finder patterns.
			if i == 0 && j == 0 || i == 0 && j == len(pos)-1 || i == len(pos)-1 && j == 0 {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					g.setFunction(x+dx, y+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	g.drawFormat(level, 0) // reserves the area; redrawn per mask
	g.drawVersion(version)
}

// drawFinder draws a finder pattern and its separator centred on (x, y).
func (g *grid) drawFinder(x, y int) {
	for dy := -4; dy <= 4; dy++ {
		for dx := -4; dx <= 4; dx++ {
			xx, yy := x+dx, y+dy
			if xx < 0 || yy < 0 || xx >= g.size || yy >= g.size {
				continue
			}
			d := max(abs(dx), abs(dy))
			g.setFunction(xx, yy, d != 2 && d != 4)
		}
	}
}

func alignmentPositions(version int) []int {
	if version == 1 {
		return nil
	}
	n := version/7 + 2
	step := 26
	if version != 32 {
		step = (version*4 + n*2 + 1) / (n*2 - 2) * 2
	}
	pos := make([]int, n)
	pos[0] = 6
	for i, p := n-1, version*4+10; i >= 1; i, p = i-1, p-step {
		pos[i] = p
	}
	return pos
}

func (g *grid) drawFormat(level Level, mask int) {
	data := level.formatBits()<<3 | mask
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	bits := (data<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return bits>>i&1 == 1 }
	for i := 0; i <= 5; i++ {
		g.setFunction(8, i, bit(i))
	}
	g.setFunction(8, 7, bit(6))
	g.setFunction(8, 8, bit(7))
	g.setFunction(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		g.setFunction(14-i, 8, bit(i))
	}
	for i := range 8 {
		g.setFunction(g.size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		g.setFunction(8, g.size-15+i, bit(i))
	}
	g.setFunction(8, g.size-8, true) // the dark module
}

func (g *grid) drawVersion(version int) {
	if version < 7 {
		return
	}
	rem := version
	for range 12 {
		rem = rem<<1 ^ (rem>>11)*0x1F25
	}
	bits := version<<12 | rem
	for i := range 18 {
		dark := bits>>i&1 == 1
		a, b := g.size-11+i%3, i/3
		g.setFunction(a, b, dark)
		g.setFunction(b, a, dark)
	}
}

// drawCodewords places the bits in the zigzag of two-module columns, upward
// then downward, from the bottom right, skipping function modules.
func (g *grid) drawCodewords(data []byte) {
	i := 0
	for right := g.size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5 // the vertical timing pattern
		}
		for vert := range g.size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = g.size - 1 - vert
				}
				if !g.function[y*g.size+x] && i < len(data)*8 {
					g.set(x, y, data[i>>3]>>(7-i&7)&1 == 1)
					i++
				}
			}
		}
	}
}

func (g *grid) applyMask(mask int) {
	for y := range g.size {
		for x := range g.size {
			var flip bool
			switch mask {
			case 0:
				flip = (x+y)%2 == 0
			case 1:
				flip = y%2 == 0
			case 2:
				flip = x%3 == 0
			case 3:
				flip = (x+y)%3 == 0
			case 4:
				flip = (x/3+y/2)%2 == 0
			case 5:
				flip = x*y%2+x*y%3 == 0
			case 6:
				flip = (x*y%2+x*y%3)%2 == 0
			case 7:
				flip = ((x+y)%2+x*y%3)%2 == 0
			}
			if flip && !g.function[y*g.size+x] {
				g.dark[y*g.size+x] = !g.dark[y*g.size+x]
			}
		}
	}
}

// penalty scores the masked symbol by the four rules of ISO/IEC 18004 7.8.3:
// long runs, 2×2 blocks, finder-like patterns and dark/light imbalance.
func (g *grid) penalty() int {
	n := g.size
	at := func(x, y int) bool { return g.dark[y*n+x] }
	p := 0
	line := make([]bool, n)
	for pass := range 2 {
		for a := range n {
			for b := range n {
				if pass == 0 {
					line[b] = at(b, a)
				} else {
					line[b] = at(a, b)
				}
			}
			p += linePenalty(line)
		}
	}
	dark := 0
	for y := range n {
		for x := range n {
			if at(x, y) {
				dark++
			}
			if x+1 < n && y+1 < n {
				c := at(x, y)
				if at(x+1, y) == c && at(x, y+1) == c && at(x+1, y+1) == c {
					p += 3
				}
			}
		}
	}
	total := n * n
	k := (abs(dark*20-total*10)+total-1)/total - 1
	return p + max(k, 0)*10
}

var finderLike = [][]bool{
	{true, false, true, true, true, false, true, false, false, false, false},
	{false, false, false, false, true, false, true, true, true, false, true},
}

// linePenalty is rules 1 and 3 for one row or column.
func linePenalty(line []bool) int {
	p := 0
	run := 1
	for i := 1; i <= len(line); i++ {
		if i < len(line) && line[i] == line[i-1] {
			run++
			continue
		}
		if run >= 5 {
			p += run - 2
		}
		run = 1
	}
	for i := 0; i+11 <= len(line); i++ {
		for _, pat := range finderLike {
			match := true
			for j, v := range pat {
				if line[i+j] != v {
					match = false
					break
				}
			}
			if match {
				p += 40
			}
		}
	}
	return p
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
