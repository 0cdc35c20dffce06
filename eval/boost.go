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

// refusalMonotone is the direction each refusal feature may move the
// support in: +1 never lowers it as the feature grows, -1 never raises it,
// 0 either. A tree fitted without them extrapolates where the visible sets
// have no examples: "Who wrote Hamlet?" over the bundled article, no word
// of it in any passage, read 0.27 and was answered. With them, a question
// that holds less of everything than an answered one is never supported
// more.
var refusalMonotone = map[string]int{
	"best_sentence": +1, "best_paragraph": +1, "bm25": +1, "unknown": -1, "rarest_known": +1,
	"cue_missing": -1, "ranker": +1, "vector": +1, "pairs": +1, "top_in_paragraph": +1,
	"known_sentence": +1, "known_pairs": +1, "matched": +1, "syn_sentence": +1,
	"unknown_nosyn": -1, "title": +1, "other_article": -1, "article": +1, "missing_heaviest": -1,
}

// fitBoosted fits gradient-boosted regression trees for the log-odds of y
// (logistic loss, weighted samples) and returns them as a bot.Model over
// names.
//
// mono[j] constrains feature j as refusalMonotone does (nil: none): a split
// on it whose leaves go the other way is not made, and the bounds it sets
// hold for every leaf below it, so the whole sum of trees is monotone in it.
func fitBoosted(names []string, samples []sample, mono []int) (bot.Model, error) {
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
		b := grower{samples: samples, g: g, h: h, cuts: cuts, mono: mono, minChild: minChild}
		b.grow(&t, all, boostDepth, math.Inf(-1), math.Inf(1))
		m.Trees = append(m.Trees, t)
		for i, s := range samples {
			f[i] += t.Value(s.x)
		}
	}
	return m, nil
}

// grower grows one tree on the current gradients.
type grower struct {
	samples  []sample
	g, h     []float64
	cuts     [][]float64
	mono     []int
	minChild float64
}

// leaf is the shrunk Newton step of a leaf with gradient sums G, H,
// clamped to the bounds [lo, hi] the monotone splits above it set.
func leaf(G, H, lo, hi float64) float64 {
	return min(max(-G/(H+boostLambda)*boostRate, lo), hi)
}

// grow adds to t the subtree for rows, whose leaves must lie in [lo, hi],
// and returns its node's index.
func (b *grower) grow(t *bot.Tree, rows []int, depth int, lo, hi float64) int {
	var G, H float64
	for _, i := range rows {
		G += b.g[i]
		H += b.h[i]
	}
	node := len(t.Nodes)
	t.Nodes = append(t.Nodes, bot.TreeNode{Leaf: true, Value: leaf(G, H, lo, hi)})
	if depth == 0 || H < 2*b.minChild {
		return node
	}
	best, bestF, bestCut := 0.0, -1, 0.0
	parent := G * G / (H + boostLambda)
	for j, cs := range b.cuts {
		dir := 0
		if b.mono != nil {
			dir = b.mono[j]
		}
		for _, c := range cs {
			var GL, HL float64
			for _, i := range rows {
				if b.samples[i].x[j] <= c {
					GL += b.g[i]
					HL += b.h[i]
				}
			}
			GR, HR := G-GL, H-HL
			if HL < b.minChild || HR < b.minChild {
				continue
			}
			if dir != 0 && float64(dir)*(leaf(GR, HR, lo, hi)-leaf(GL, HL, lo, hi)) < 0 {
				continue // the leaves would go against the feature's direction
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
	var GL, HL float64
	for _, i := range rows {
		if b.samples[i].x[bestF] <= bestCut {
			left = append(left, i)
			GL += b.g[i]
			HL += b.h[i]
		} else {
			right = append(right, i)
		}
	}
	// Below a monotone split the left subtree stays under the midpoint of
	// the two leaves and the right one over it (the other way round for a
	// decreasing feature), so no deeper split can undo the order.
	loL, hiL, loR, hiR := lo, hi, lo, hi
	if b.mono != nil && b.mono[bestF] != 0 {
		mid := (leaf(GL, HL, lo, hi) + leaf(G-GL, H-HL, lo, hi)) / 2
		if b.mono[bestF] > 0 {
			hiL, loR = mid, mid
		} else {
			loL, hiR = mid, mid
		}
	}
	l := b.grow(t, left, depth-1, loL, hiL)
	r := b.grow(t, right, depth-1, loR, hiR)
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
