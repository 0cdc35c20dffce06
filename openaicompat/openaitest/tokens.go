package openaitest

import (
	"hash/fnv"
	"strings"
	"unicode"
)

// Tokens is the length of text in tokens as the fake counts it: two
// tokens per seven ASCII bytes, rounded up, and one per other character.
// It counts at least as many as the llama.cpp GPT-2 vocabulary of
// testdata/realservers did for every recorded prompt and embedding input
// (TestTokensAtLeastRecorded), so a prompt the fake accepts fits the real
// window too.
func Tokens(text string) int {
	ascii, other := 0, 0
	for _, r := range text {
		if r < 0x80 {
			ascii++
		} else {
			other++
		}
	}
	return (2*ascii+6)/7 + other
}

// Vector is the embedding the fake gives text: dims counts of its
// lower-cased words, each word hashed to one dimension (never all zero).
// Texts sharing words point the same way, so retrieval over these vectors
// behaves like a crude semantic search. Servers do not normalise for the
// client: neither does Vector.
func Vector(text string, dims int) []float32 {
	v := make([]float32, dims)
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	for _, w := range words {
		h := fnv.New32a()
		h.Write([]byte(w))
		v[h.Sum32()%uint32(dims)]++
	}
	if len(words) == 0 {
		v[0] = 1
	}
	return v
}
