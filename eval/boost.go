package eval

import (
	"errors"
	"math"
	"slices"

	"github.com/verbatimbot/verbatim/bot"
)

// Gradient boosting settings for the refusal model: shallow trees, many
// small steps, leaves shrunk toward zero and never fitted to a handful of
// questions.
const (
	boostRounds   = 150
	boostDepth    = 2
	boostRate     = 0.1
	boostLambda   = 1.0
	boostMinChild = 0.01 // of the total sample weight
	boostBins     = 32
)

var errNoClasses = errors.New("fit: the samples need both labels")

// fitBoosted fits gradient-boosted regression trees for the log-odds of y
// (logistic loss, weighted samples) and returns them as a bot.Model over
// names.
func fitBoosted(names []string, samples []sample) (bot.Model, error) {
	m := bot.Model{Features: names, Mean: make([]float64, len(names)), Scale: make([]float64, len(names)), Weights: make([]float64, len(names))}
	for i := range m.Scale {
		m.Scale[i] = 1
	}
	var wsum, ysum float64
	for _, s := range samples {
		wsum += s.weight
		ysum += s.weight * s.y
	}
	if wsum == 0 || ysum == 0 || ysum == wsum {
		return m, errNoClasses
	}
	p0 := ysum / wsum
	m.Bias = math.Log(p0 / (1 - p0))
	cuts := make([][]float64, len(names))
	for j := range names {
		cuts[j] = quantileCuts(samples, j, boostBins)
	}
	f := make([]float64, len(samples))
	for i := range f {
		f[i] = m.Bias
	}
	g := make([]float64, len(samples))
	h := make([]float64, len(samples))
	minChild := boostMinChild * wsum
	all := make([]int, len(samples))
	for i := range all {
		all[i] = i
	}
	for range boostRounds {
		for i, s := range samples {
			p := 1 / (1 + math.Exp(-f[i]))
			g[i] = s.weight * (p - s.y)
			h[i] = s.weight * p * (1 - p)
		}
		var t bot.Tree
		grow(&t, samples, all, g, h, cuts, boostDepth, minChild)
		m.Trees = append(m.Trees, t)
		for i, s := range samples {
			f[i] += t.Value(s.x)
		}
	}
	return m, nil
}

// grow adds to t the subtree for rows and returns its node's index.
func grow(t *bot.Tree, samples []sample, rows []int, g, h []float64, cuts [][]float64, depth int, minChild float64) int {
	var G, H float64
	for _, i := range rows {
		G += g[i]
		H += h[i]
	}
	node := len(t.Nodes)
	t.Nodes = append(t.Nodes, bot.TreeNode{Leaf: true, Value: -G / (H + boostLambda) * boostRate})
	if depth == 0 || H < 2*minChild {
		return node
	}
	best, bestF, bestCut := 0.0, -1, 0.0
	parent := G * G / (H + boostLambda)
	for j, cs := range cuts {
		for _, c := range cs {
			var GL, HL float64
			for _, i := range rows {
				if samples[i].x[j] <= c {
					GL += g[i]
					HL += h[i]
				}
			}
			GR, HR := G-GL, H-HL
			if HL < minChild || HR < minChild {
				continue
			}
			if gain := GL*GL/(HL+boostLambda) + GR*GR/(HR+boostLambda) - parent; gain > best {
				best, bestF, bestCut = gain, j, c
			}
		}
	}
	if bestF < 0 {
		return node
	}
	var left, right []int
	for _, i := range rows {
		if samples[i].x[bestF] <= bestCut {
			left = append(left, i)
		} else {
			right = append(right, i)
		}
	}
	l := grow(t, samples, left, g, h, cuts, depth-1, minChild)
	r := grow(t, samples, right, g, h, cuts, depth-1, minChild)
	t.Nodes[node] = bot.TreeNode{Feature: bestF, Threshold: bestCut, Left: l, Right: r}
	return node
}

// quantileCuts are up to n distinct split points of feature j: the values
// between its weighted quantiles.
func quantileCuts(samples []sample, j, n int) []float64 {
	vals := make([]float64, len(samples))
	for i, s := range samples {
		vals[i] = s.x[j]
	}
	slices.Sort(vals)
	var cuts []float64
	for k := 1; k < n; k++ {
		v := vals[k*len(vals)/n]
		if len(cuts) == 0 || v > cuts[len(cuts)-1] {
			cuts = append(cuts, v)
		}
	}
	return cuts
}
