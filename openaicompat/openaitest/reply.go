package openaitest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Reply is how the server answers one request. Build it with Content,
// Error, Raw, Hang, Drop, StreamError, Ramble, Gibberish, Vectors or
// Replay; queue
// it with Server.Chat, Server.Embeddings or Server.Script.
//
// A generated reply (Content, Ramble, Gibberish, and those made to die
// with DropAfter or ErrorAfter) is
// streamed when the request asks for it, one token (a word with the space
// before it) per event, in the flavour's chunk shapes; it stops at the
// request's max_tokens or when the context window is full, with
// finish_reason "length", as real servers do.
type Reply struct {
	kind   kind
	text   string
	status int
	ctype  string
	dies   dies   // how a generated reply dies, if it does
	after  int    // tokens generated before it dies
	errMsg string // the error event of dieError
	seed   uint64
	ex     *Exchange
	delay  time.Duration
	header http.Header
	finish string
}

type kind int

type dies int

const (
	dieNot dies = iota
	dieDrop
	dieError
)

const (
	kindContent kind = iota + 1
	kindError
	kindRaw
	kindHang
	kindVectors
	kindRamble
	kindGibberish
	kindReplay
)

// Content is a model answering text, finish_reason "stop".
func Content(text string) Reply { return Reply{kind: kindContent, text: text} }

// Error is an error response of status with message, in the flavour's
// envelope ({"error":{"message",...}}).
func Error(status int, message string) Reply {
	return Reply{kind: kindError, status: status, text: message}
}

// Raw is a response of status with exactly this body (e.g. a proxy's
// "404 page not found" in text/plain).
func Raw(status int, contentType, body string) Reply {
	return Reply{kind: kindRaw, status: status, ctype: contentType, text: body}
}

// Vectors answers an embedding request as the server does unscripted:
// each input's Vector (to follow scripted failures).
func Vectors() Reply { return Reply{kind: kindVectors} }

// Hang never answers: the request waits until the client gives up (or
// the test ends).
func Hang() Reply { return Reply{kind: kindHang} }

// Drop is a rambling generation (Ramble) that dies after `after` tokens:
// Ramble().DropAfter(after).
func Drop(after int) Reply { return Ramble().DropAfter(after) }

// DropAfter makes a generated reply die after `after` tokens, as when the
// server is killed: llama-server (and OpenAI) cut the connection without
// the chunked body's terminating chunk (recorded in
// testdata/realservers/llama-server/18); Ollama, whose runner died under a
// living server, ends the stream cleanly with a chunk of empty model and
// content and no finish_reason or [DONE] (ollama/13). A request that is not
// streamed gets no response at all from llama-server (the connection
// closes) and a 500 from Ollama.
func (r Reply) DropAfter(after int) Reply { r.dies, r.after = dieDrop, after; return r }

// StreamError is Ramble().ErrorAfter(after, message).
func StreamError(after int, message string) Reply { return Ramble().ErrorAfter(after, message) }

// ErrorAfter makes a generated reply send `after` tokens, then a
// `data: {"error":…}` event and the end of the stream, as OpenAI and vLLM
// report a failure mid-stream; a request that is not streamed gets a 500
// with message.
func (r Reply) ErrorAfter(after int, message string) Reply {
	r.dies, r.after, r.errMsg = dieError, after, message
	return r
}

// Ramble is a model that never stops on its own: it generates until
// max_tokens or the context window is spent (finish_reason "length"), or
// the client gives up. With response_format JSON it rambles inside the
// "answer" string of an object it never closes.
func Ramble() Reply { return Reply{kind: kindRamble} }

// Gibberish is a random-weight model (recorded in testdata/realservers):
// random words from seed, shaped as the requested JSON object when
// response_format asks for one (a grammar forces the shape, not the sense:
// its one citation has an empty label and a random quote).
func Gibberish(seed uint64) Reply { return Reply{kind: kindGibberish, seed: seed} }

// After delays the reply by d (the model reading the prompt): the time to
// first token of a streamed reply is at least d.
func (r Reply) After(d time.Duration) Reply { r.delay = d; return r }

// WithHeader adds a response header (e.g. Retry-After).
func (r Reply) WithHeader(key, value string) Reply {
	r.header = r.header.Clone()
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Add(key, value)
	return r
}

// Finish sets the finish_reason a Content reply ends with ("length", …).
func (r Reply) Finish(reason string) Reply { r.finish = reason; return r }

// wait sleeps d unless the request or the test ends first (false).
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

// play answers with reply.
func (s *Server) play(w http.ResponseWriter, r *http.Request, req Request, reply Reply) {
	if !s.wait(r, reply.delay) {
		return
	}
	for k, vs := range reply.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch reply.kind {
	case kindError:
		s.writeError(w, failure{status: reply.status, msg: reply.text})
	case kindRaw:
		w.Header().Set("Content-Type", reply.ctype)
		w.WriteHeader(reply.status)
		_, _ = w.Write([]byte(reply.text)) // a client that went away is its own failure
	case kindHang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	case kindReplay:
		s.replay(w, r, req, reply)
	case kindVectors:
		if req.Embed == nil {
			s.t.Errorf("openaitest: Vectors scripted for %s %s", req.Method, req.Path)
			return
		}
		s.writeEmbeddings(w, *req.Embed)
	default:
		if req.Chat == nil {
			if reply.dies == dieDrop {
				s.cut(w, false)
				return
			}
			s.t.Errorf("openaitest: a generated reply scripted for %s %s", req.Method, req.Path)
			s.writeError(w, failure{status: http.StatusInternalServerError, msg: "openaitest: generated reply on a non-chat endpoint"})
			return
		}
		s.generate(w, r, *req.Chat, reply)
	}
}

// cut closes the connection without finishing the response: what was
// written so far (started) goes out first; with nothing written the client
// gets no response at all.
func (s *Server) cut(w http.ResponseWriter, started bool) {
	rc := http.NewResponseController(w)
	if started {
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		s.t.Errorf("openaitest: cut the connection: %v", err)
		return
	}
	conn.Close()
}

// tokenRE splits text into the tokens a reply streams: a word with the
// whitespace before it.
var tokenRE = regexp.MustCompile(`\s*\S+|\s+`)

// generator yields the tokens of a generated reply; ok is false at the
// end of the text (finish_reason "stop").
type generator func(i int) (tok string, ok bool)

func (s *Server) generator(req ChatRequest, reply Reply) generator {
	switch reply.kind {
	case kindRamble:
		rng := rand.New(rand.NewPCG(reply.seed, 7))
		return func(i int) (string, bool) {
			if i == 0 && req.JSON() {
				return `{"answer":"` + word(rng), true
			}
			if i == 0 {
				return word(rng), true
			}
			return " " + word(rng), true
		}
	case kindGibberish:
		return tokens(gibberish(reply.seed, req.JSON()))
	}
	return tokens(reply.text)
}

func tokens(text string) generator {
	toks := tokenRE.FindAllString(text, -1)
	return func(i int) (string, bool) {
		if i >= len(toks) {
			return "", false
		}
		return toks[i], true
	}
}

// budget is how many tokens the model may generate: max_tokens, else what
// is left of the context window (all of it after Ollama cut the prompt).
func (s *Server) budget(req ChatRequest) int {
	left := s.opts.ContextTokens - s.promptTokens(req)
	if left < 1 {
		left = s.opts.ContextTokens / 2 // Ollama shifts its context and goes on
	}
	if lim := req.Limit(); lim > 0 {
		return min(lim, left)
	}
	return left
}

// produce runs the model of a generated reply: it hands each token to
// emit until the text ends (finish "stop", or reply.finish), the budget is
// spent (finish "length") or the reply dies (died). ok is false when the
// client went away.
func (s *Server) produce(r *http.Request, req ChatRequest, reply Reply, emit func(tok string) bool) (n int, finish string, died, ok bool) {
	next := s.generator(req, reply)
	budget := s.budget(req)
	for ; ; n++ {
		switch tok, more := next(n); {
		case reply.dies != dieNot && n == reply.after:
			return n, "", true, true
		case n == budget:
			return n, "length", false, true
		case !more:
			if reply.finish != "" {
				return n, reply.finish, false, true
			}
			return n, "stop", false, true
		case !s.wait(r, s.opts.TokenDelay) || !emit(tok):
			return n, "", false, false
		}
	}
}

// generate runs a generated reply: streamed or whole, cut short or dying
// as reply says.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, req ChatRequest, reply Reply) {
	c := newChunker(s.opts.Flavour, s.modelName(req.Model))
	if !req.Stream {
		var b strings.Builder
		n, finish, died, ok := s.produce(r, req, reply, func(tok string) bool { b.WriteString(tok); return true })
		switch {
		case died:
			s.die(w, reply)
		case ok:
			s.writeJSON(w, http.StatusOK, c.completion(b.String(), finish, s.promptTokens(req), n))
		}
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	if s.opts.Flavour == LlamaServer {
		w.Header().Set("Server", "llama.cpp")
		w.Header().Set("X-Accel-Buffering", "no")
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			s.t.Errorf("openaitest: encode chunk: %v", err)
			return false
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false // the client went away
		}
		return rc.Flush() == nil
	}
	if first := c.first(); first != nil && !send(first) {
		return
	}
	n, finish, died, ok := s.produce(r, req, reply, func(tok string) bool { return send(c.chunk(tok, nil, c.model)) })
	switch {
	case !ok:
		return
	case died && reply.dies == dieError:
		send(map[string]any{"error": map[string]any{"message": reply.errMsg, "type": "server_error", "code": nil}})
		return
	case died && s.opts.Flavour == Ollama:
		send(c.chunk("", nil, "")) // the runner died: Ollama's empty chunk, then a clean end
		return
	case died:
		s.cut(w, true)
		return
	}
	if !send(c.last(finish)) {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		if !send(c.usage(s.promptTokens(req), n)) {
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// die ends a request that is not streamed whose generation died.
func (s *Server) die(w http.ResponseWriter, reply Reply) {
	switch {
	case reply.dies == dieError:
		s.writeError(w, failure{status: http.StatusInternalServerError, msg: reply.errMsg})
	case s.opts.Flavour == Ollama:
		s.writeError(w, failure{status: http.StatusInternalServerError, msg: "an error was encountered while running the model: unexpected EOF"})
	default:
		s.cut(w, false)
	}
}

// modelName is the model a reply names: llama-server names its one model
// whatever was asked.
func (s *Server) modelName(asked string) string {
	if s.opts.Flavour == LlamaServer {
		return s.opts.Models[0]
	}
	return asked
}

// chunker builds a flavour's response objects.
type chunker struct {
	flavour Flavour
	model   string
	id      string
	created int64
}

func newChunker(f Flavour, model string) *chunker {
	return &chunker{flavour: f, model: model, id: fmt.Sprintf("chatcmpl-%d", rand.IntN(1e6)), created: time.Now().Unix()}
}

func (c *chunker) envelope(object string, choices []any) map[string]any {
	m := map[string]any{"id": c.id, "object": object, "created": c.created, "model": c.model, "choices": choices}
	switch c.flavour {
	case LlamaServer:
		m["system_fingerprint"] = "b0-unknown"
	case Ollama:
		m["system_fingerprint"] = "fp_ollama"
	case OpenAI:
		m["system_fingerprint"] = "fp_openaitest"
	}
	return m
}

// first is the chunk before the first token: llama-server and OpenAI send
// the role alone; Ollama repeats the role in every chunk instead.
func (c *chunker) first() any {
	switch c.flavour {
	case LlamaServer:
		return c.envelope("chat.completion.chunk", []any{map[string]any{"index": 0, "finish_reason": nil,
			"delta": map[string]any{"role": "assistant", "content": nil}}})
	case OpenAI:
		return c.envelope("chat.completion.chunk", []any{map[string]any{"index": 0, "finish_reason": nil, "logprobs": nil,
			"delta": map[string]any{"role": "assistant", "content": "", "refusal": nil}}})
	}
	return nil
}

// chunk carries one token; model is the chunk's model ("" for Ollama's
// dying chunk).
func (c *chunker) chunk(tok string, finish any, model string) any {
	delta := map[string]any{"content": tok}
	if c.flavour == Ollama {
		delta["role"] = "assistant"
	}
	m := c.envelope("chat.completion.chunk", []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}})
	m["model"] = model
	return m
}

func (c *chunker) last(finish string) any {
	if c.flavour == Ollama {
		return c.chunk("", finish, c.model)
	}
	m := c.envelope("chat.completion.chunk", []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": finish}})
	if c.flavour == LlamaServer {
		m["timings"] = map[string]any{"prompt_n": 1, "predicted_n": 1}
	}
	return m
}

func (c *chunker) usage(prompt, completion int) any {
	m := c.envelope("chat.completion.chunk", []any{})
	m["usage"] = map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
	return m
}

func (c *chunker) completion(content, finish string, prompt, completion int) any {
	m := c.envelope("chat.completion", []any{map[string]any{"index": 0, "finish_reason": finish,
		"message": map[string]any{"role": "assistant", "content": content}}})
	m["usage"] = map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
	return m
}

// words are pieces of what the random-weight models of
// testdata/realservers said.
var words = strings.Fields(`songs compighters happ Lens contentious sophistic acular ishop freezes Miy rollment
faces scrambled Hat politician inconvenience Fabric cyclist 490 doubted aws raphen ment reliance adject Aud Hart psc
Library Sonic reinforces NAFTA uation Change hey ox orous sage likeness Tx increment reboot orean iveness Mariners OD
vil offend Script 121 unin Domain firewall iderica regardless 413 ruined annoy client Statistics aspects ruciating
barbar 181 Kai Compass amy izards ation devs Vec OUNT challengers blaster Blink Invisible Faith Epstein Greenpeace
Tests ref petition Three advantages translucent Firefly Issue consecut`)

func word(rng *rand.Rand) string { return words[rng.IntN(len(words))] }

func gibberishWords(rng *rand.Rand, n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = word(rng)
	}
	return strings.Join(ws, " ")
}

// gibberish is a random model's reply: prose, or the JSON shape a grammar
// forces on it.
func gibberish(seed uint64, asJSON bool) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	if !asJSON {
		return gibberishWords(rng, 24+rng.IntN(16))
	}
	b, _ := json.Marshal(map[string]any{
		"answer":    gibberishWords(rng, 12+rng.IntN(12)),
		"citations": []any{map[string]any{"marker": rng.Int64(), "label": "", "quote": gibberishWords(rng, 6)}},
		"refused":   false,
	})
	return string(b)
}
