package loadgen

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"slices"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Series is one line of a chart: a sweep's throughput at each concurrency,
// and the ceiling its ratios are against.
type Series struct {
	Label   string
	Ceiling float64
	Points  []Point
}

// Point is one load point of a series.
type Point struct {
	Concurrency int
	Throughput  float64
	Ratio       float64
}

// SeriesOf turns a report into a chart series.
func SeriesOf(r Report) Series {
	s := Series{Label: r.Scenario.Label, Ceiling: r.CeilingRate}
	for _, res := range r.Results {
		s.Points = append(s.Points, Point{Concurrency: res.Concurrency, Throughput: res.Throughput, Ratio: res.Ratio})
	}
	return s
}

// Goal is a horizontal line on the ratio panel: a target to meet.
type Goal struct {
	Ratio float64
	Label string
}

// Chart is throughput (top panel) and ratio to the ceiling (bottom panel)
// against concurrency, for one or more series.
type Chart struct {
	Title  string
	Series []Series
	Goals  []Goal
}

// Chart geometry, in pixels.
const (
	chartW, chartH = 760, 540
	plotL, plotR   = 70, 740
	topY0, topY1   = 56, 290 // throughput panel
	botY0, botY1   = 330, 490
)

var (
	white  = color.RGBA{255, 255, 255, 255}
	black  = color.RGBA{0, 0, 0, 255}
	grid   = color.RGBA{225, 225, 225, 255}
	dim    = color.RGBA{120, 120, 120, 255}
	colors = []color.Color{
		color.RGBA{31, 119, 180, 255}, color.RGBA{214, 39, 40, 255}, color.RGBA{44, 160, 44, 255},
		color.RGBA{148, 103, 189, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{23, 190, 207, 255},
	}
)

// WritePNG draws the chart. It uses a small palette, so the file stays a
// few kilobytes.
func (c Chart) WritePNG(w io.Writer) error {
	pal := color.Palette{white, black, grid, dim}
	pal = append(pal, colors...)
	img := image.NewPaletted(image.Rect(0, 0, chartW, chartH), pal)
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)

	var xs []int
	maxRate, maxRatio := 0.0, 1.0
	for _, s := range c.Series {
		maxRate = max(maxRate, s.Ceiling)
		for _, p := range s.Points {
			if !slices.Contains(xs, p.Concurrency) {
				xs = append(xs, p.Concurrency)
			}
			maxRate = max(maxRate, p.Throughput)
			maxRatio = max(maxRatio, p.Ratio)
		}
	}
	slices.Sort(xs)
	if len(xs) == 0 {
		return fmt.Errorf("chart: no points")
	}
	// Concurrencies are usually powers of two, so they get equal spacing.
	xAt := func(conc int) int {
		i := slices.Index(xs, conc)
		if len(xs) == 1 {
			return (plotL + plotR) / 2
		}
		return plotL + 20 + i*(plotR-plotL-40)/(len(xs)-1)
	}
	rateTop, rateStep := niceScale(maxRate * 1.08)
	ratioTop, ratioStep := niceScale(maxRatio * 1.05)
	yRate := func(v float64) int { return topY1 - int(v/rateTop*float64(topY1-topY0)) }
	yRatio := func(v float64) int { return botY1 - int(v/ratioTop*float64(botY1-botY0)) }

	text(img, plotL, 20, black, c.Title)
	panel(img, topY0, topY1, rateTop, rateStep, yRate, "req/s", func(v float64) string { return fmt.Sprintf("%.0f", v) })
	panel(img, botY0, botY1, ratioTop, ratioStep, yRatio, "of ceiling", func(v float64) string { return fmt.Sprintf("%.1f", v) })
	for _, x := range xs {
		px := xAt(x)
		line(img, px, botY1, px, botY1+4, black, false)
		label := fmt.Sprint(x)
		text(img, px-len(label)*7/2, botY1+18, black, label)
	}
	text(img, (plotL+plotR)/2-60, botY1+36, black, "concurrency (workers)")

	for _, g := range c.Goals {
		y := yRatio(g.Ratio)
		line(img, plotL, y, plotR, y, dim, true)
		text(img, plotR-len(g.Label)*7-4, y-4, dim, g.Label)
	}
	var ceilings []float64
	legendX := plotL
	for i, s := range c.Series {
		col := colors[i%len(colors)]
		// Series measured on one machine have ceilings a few percent
		// apart; one line stands for them all.
		near := slices.ContainsFunc(ceilings, func(v float64) bool { return math.Abs(v-s.Ceiling) < 0.03*v })
		if s.Ceiling > 0 && !near {
			ceilings = append(ceilings, s.Ceiling)
			y := yRate(s.Ceiling)
			line(img, plotL, y, plotR, y, dim, true)
			text(img, plotL+6, y-4, dim, fmt.Sprintf("ceiling %.0f/s", s.Ceiling))
		}
		pts := slices.Clone(s.Points)
		slices.SortFunc(pts, func(a, b Point) int { return a.Concurrency - b.Concurrency })
		for j, p := range pts {
			x := xAt(p.Concurrency)
			marker(img, x, yRate(p.Throughput), col)
			marker(img, x, yRatio(p.Ratio), col)
			if j > 0 {
				q := pts[j-1]
				thick(img, xAt(q.Concurrency), yRate(q.Throughput), x, yRate(p.Throughput), col)
				thick(img, xAt(q.Concurrency), yRatio(q.Ratio), x, yRatio(p.Ratio), col)
			}
		}
		// Legend, in a row between the title and the panel.
		thick(img, legendX, 36, legendX+20, 36, col)
		text(img, legendX+26, 40, black, s.Label)
		legendX += 26 + len(s.Label)*7 + 24
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	return enc.Encode(w, img)
}

// panel draws a panel's frame, horizontal grid and y labels.
func panel(img *image.Paletted, y0, y1 int, top, step float64, y func(float64) int, unit string, f func(float64) string) {
	for v := 0.0; v <= top+step/2; v += step {
		py := y(v)
		line(img, plotL, py, plotR, py, grid, false)
		s := f(v)
		text(img, plotL-6-len(s)*7, py+4, black, s)
	}
	line(img, plotL, y0, plotL, y1, black, false)
	line(img, plotL, y1, plotR, y1, black, false)
	text(img, 4, y0-6, black, unit)
}

// niceScale picks an axis top at or above v and a step of 1, 2 or 5 times a
// power of ten, giving four to ten grid lines.
func niceScale(v float64) (top, step float64) {
	if v <= 0 {
		return 1, 0.25
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{0.1, 0.2, 0.5, 1, 2} {
		step = m * mag
		if v/step <= 8 {
			break
		}
	}
	return math.Ceil(v/step) * step, step
}

func text(img draw.Image, x, y int, c color.Color, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// line draws a one-pixel line (Bresenham), dashed if asked.
func line(img *image.Paletted, x0, y0, x1, y1 int, c color.Color, dashed bool) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for n := 0; ; n++ {
		if !dashed || n%10 < 6 {
			img.Set(x0, y0, c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

// thick draws a data line two pixels wide.
func thick(img *image.Paletted, x0, y0, x1, y1 int, c color.Color) {
	line(img, x0, y0, x1, y1, c, false)
	line(img, x0, y0+1, x1, y1+1, c, false)
	line(img, x0+1, y0, x1+1, y1, c, false)
}

func marker(img *image.Paletted, x, y int, c color.Color) {
	draw.Draw(img, image.Rect(x-3, y-3, x+4, y+4), image.NewUniform(c), image.Point{}, draw.Src)
}

func abs(v int) int { return max(v, -v) }

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
