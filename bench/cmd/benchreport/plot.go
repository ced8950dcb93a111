package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"

	"conveyor/bench/harness"
)

var (
	white      = color.RGBA{255, 255, 255, 255}
	ink        = color.RGBA{30, 30, 30, 255}
	grid       = color.RGBA{225, 225, 225, 255}
	convColor  = color.RGBA{45, 105, 190, 255}
	convLight  = color.RGBA{160, 190, 235, 255}
	peerColor  = color.RGBA{225, 120, 30, 255}
	peerLight  = color.RGBA{245, 195, 150, 255}
	failColor  = color.RGBA{190, 40, 40, 255}
	plotScale  = 2
	rowHeight  = 24
	panelWidth = 660
)

// writePlot draws four panels (insert, batch, work throughput; latency p50
// and p99) with one horizontal bar per system, as a PNG.
func writePlot(w io.Writer, t table) error {
	systems := t.systems()
	label := 0
	for _, s := range systems {
		label = max(label, textWidth(s, plotScale))
	}
	panelH := 40 + rowHeight*max(1, len(systems)) + 16
	img := image.NewRGBA(image.Rect(0, 0, 2*panelWidth, 2*panelH+36))
	fill(img, img.Bounds(), white)
	drawText(img, 10, 8, "conveyor vs peers: median of rounds, log scale (blue conveyor, orange peers)", plotScale, ink)
	panels := []struct {
		title    string
		workload string
	}{
		{"insert jobs/s (one by one, 16 goroutines)", harness.WorkloadInsert},
		{"batch jobs/s (batches of 1000)", harness.WorkloadBatch},
		{"work jobs/s (drain, no-op jobs)", harness.WorkloadWork},
		{"latency ms (dark p50, light p99)", harness.WorkloadLatency},
	}
	for i, p := range panels {
		x0, y0 := (i%2)*panelWidth, 36+(i/2)*panelH
		drawPanel(img, t, systems, x0, y0, label, p.title, p.workload)
	}
	return png.Encode(w, img)
}

func drawPanel(img *image.RGBA, t table, systems []string, x0, y0, label int, title, workload string) {
	drawText(img, x0+10, y0+8, title, plotScale, ink)
	barX := x0 + 10 + label + 10
	barMax := x0 + panelWidth - 150 - barX
	// Log scale: the systems span orders of magnitude (memory vs servers).
	// lo sits below the smallest value so that every bar shows.
	var top, lo float64
	for _, s := range systems {
		if sum, ok := t.summary(s, workload); ok && sum.Rounds > 0 {
			vals := []float64{sum.JobsPerSec}
			if workload == harness.WorkloadLatency {
				vals = []float64{sum.P50, sum.P99}
			}
			for _, v := range vals {
				if v > 0 {
					top = max(top, v)
					if lo == 0 || v < lo {
						lo = v
					}
				}
			}
		}
	}
	lo /= 2
	scaleBar := func(v float64) int { return logBar(v, lo, top, barMax) }
	y := y0 + 40
	fill(img, image.Rect(barX-1, y-4, barX, y+rowHeight*len(systems)), grid)
	for _, s := range systems {
		isPeer := !strings.HasPrefix(s, "conveyor-")
		dark, light := convColor, convLight
		if isPeer {
			dark, light = peerColor, peerLight
		}
		drawText(img, x0+10, y+2, s, plotScale, ink)
		sum, ok := t.summary(s, workload)
		switch {
		case !ok:
			drawText(img, barX+6, y+2, "not run", plotScale, grid)
		case sum.Rounds == 0 && sum.Note != "":
			drawText(img, barX+6, y+2, "n/a", plotScale, ink)
		case sum.Rounds == 0:
			drawText(img, barX+6, y+2, "failed", plotScale, failColor)
		case workload == harness.WorkloadLatency:
			w99 := scaleBar(sum.P99)
			w50 := scaleBar(sum.P50)
			fill(img, image.Rect(barX, y, barX+w99, y+rowHeight-6), light)
			fill(img, image.Rect(barX, y, barX+w50, y+rowHeight-6), dark)
			drawText(img, barX+w99+6, y+2, fmtMs(sum.P50)+" / "+fmtMs(sum.P99), plotScale, ink)
		default:
			wd := scaleBar(sum.JobsPerSec)
			fill(img, image.Rect(barX, y, barX+wd, y+rowHeight-6), dark)
			drawText(img, barX+wd+6, y+2, fmt.Sprintf("%.0f", sum.JobsPerSec), plotScale, ink)
		}
		y += rowHeight
	}
}

// logBar is the width of v's bar on a log scale from lo (0 px) to top
// (width px).
func logBar(v, lo, top float64, width int) int {
	if v <= 0 || lo <= 0 || top <= lo {
		return 0
	}
	return max(1, int(math.Log(v/lo)/math.Log(top/lo)*float64(width)))
}
