package retrieval

import (
	"context"
	"fmt"
)

// truncatingEmbedder is an Embedder that may shorten a text too long for
// its server, and says which (OpenAIEmbedder does).
type truncatingEmbedder interface {
	EmbedTruncating(ctx context.Context, texts []string) ([][]float32, []Truncation, error)
}

var _ truncatingEmbedder = (*OpenAIEmbedder)(nil)

// embedPassages embeds texts, the EmbedText of passages ps. When the
// embedder had to shorten a passage to fit its server, it is reported by
// article and paragraphs at the default log level, and the index is built
// with the shortened passage's vector (its words stay whole in the lexical
// index).
func (ix *Index) embedPassages(ctx context.Context, ps []Passage, texts []string) ([][]float32, error) {
	te, ok := ix.emb.(truncatingEmbedder)
	if !ok {
		return ix.emb.Embed(ctx, texts)
	}
	vecs, cuts, err := te.EmbedTruncating(ctx, texts)
	for _, c := range cuts {
		if c.Index < 0 || c.Index >= len(ps) {
			continue
		}
		p := ps[c.Index]
		ix.log.Warn("passage too long for the embedding server; its vector is of the first part only",
			"article", p.ArticleID, "paragraphs", paragraphSpan(p), "kept_chars", c.Kept, "chars", c.Total)
	}
	return vecs, err
}

// paragraphSpan is "¶3" or "¶3–5".
func paragraphSpan(p Passage) string {
	if p.First == p.Last {
		return fmt.Sprintf("¶%d", p.First)
	}
	return fmt.Sprintf("¶%d–%d", p.First, p.Last)
}
