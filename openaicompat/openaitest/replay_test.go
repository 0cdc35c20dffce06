package openaitest

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recordings are every exchange under testdata/realservers.
func recordings(t *testing.T) map[string]*Exchange {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "realservers", "*", "*.json"))
	if err != nil || len(files) < 30 {
		t.Fatalf("recordings in testdata/realservers: %d, %v", len(files), err)
	}
	out := map[string]*Exchange{}
	for _, f := range files {
		ex, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.ToSlash(strings.TrimPrefix(f, filepath.Join("testdata", "realservers")+string(filepath.Separator)))] = ex
	}
	return out
}

// rawExchange sends the recorded request on a fresh TCP connection and
// reads the response as a client would.
func rawExchange(t *testing.T, srv *Server, ex *Exchange) (*http.Response, []byte, error) {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.NewRequest(ex.Request.Method, "http://"+u.Host+ex.Request.Path, strings.NewReader(ex.Request.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range ex.Request.Headers {
		switch http.CanonicalHeaderKey(h[0]) {
		case "Host", "Content-Length", "Connection":
		default:
			req.Header.Add(h[0], h[1])
		}
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestReplayByteForByte replays every recording and reads it back raw:
// the status line, every header the server sent (and no other), the body
// to the byte, and the end of the connection — cut short where the server
// was killed, clean otherwise.
func TestReplayByteForByte(t *testing.T) {
	for name, ex := range recordings(t) {
		t.Run(name, func(t *testing.T) {
			srv := New(t, Options{Flavour: flavourOf(ex)})
			srv.Script(ex.Request.Path, Replay(ex))
			resp, body, err := rawExchange(t, srv, ex)
			if want := strconv.Itoa(ex.Response.Status) + " " + ex.Response.Reason; resp.Status != want {
				t.Errorf("status %q, want %q", resp.Status, want)
			}
			if string(body) != ex.Response.Body {
				t.Errorf("body differs: got %d bytes, want %d", len(body), len(ex.Response.Body))
			}
			if ex.Cut() {
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("reading a cut response: err = %v, want unexpected EOF", err)
				}
			} else if err != nil {
				t.Errorf("reading a cleanly ended response: %v", err)
			}
			want := http.Header{}
			for _, h := range ex.Response.Headers {
				want.Add(h[0], h[1])
			}
			if strings.EqualFold(want.Get("Connection"), "close") {
				if !resp.Close {
					t.Error("the recorded Connection: close did not reach the client")
				}
				want.Del("Connection") // ReadResponse moves it to resp.Close
			}
			if strings.EqualFold(want.Get("Transfer-Encoding"), "chunked") {
				if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
					t.Errorf("transfer encoding %v, want chunked", resp.TransferEncoding)
				}
				want.Del("Transfer-Encoding")
			}
			if cl := want.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(ex.Response.Body)) {
				if len(ex.Trimmed) == 0 {
					t.Errorf("Content-Length %s does not match an untrimmed body of %d bytes", cl, len(ex.Response.Body))
				}
				want.Set("Content-Length", strconv.Itoa(len(ex.Response.Body)))
			}
			for k := range resp.Header {
				if _, ok := want[k]; !ok {
					t.Errorf("header %s: %q was not in the recording", k, resp.Header.Get(k))
				}
			}
			for k, vs := range want {
				if got := resp.Header.Values(k); strings.Join(got, "\x00") != strings.Join(vs, "\x00") {
					t.Errorf("header %s = %q, want %q", k, got, vs)
				}
			}
		})
	}
}

func flavourOf(ex *Exchange) Flavour {
	if ex.Server == "ollama" {
		return Ollama
	}
	return LlamaServer
}

// TestReplayChecksTheRequest: a replay scripted for another request fails
// the test instead of answering it.
func TestReplayChecksTheRequest(t *testing.T) {
	ex, err := Load(filepath.Join("testdata", "realservers", "llama-server", "02-verbatim-ask-stream-json-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	spy := &spyT{TB: t}
	srv := New(spy, Options{})
	srv.Chat(Replay(ex))
	resp := post(t, srv, ChatPath, `{"model":"m","messages":[{"role":"user","content":"q"}]}`)
	resp.Body.Close()
	if len(spy.errs) != 1 || !strings.Contains(spy.errs[0], "stream true") {
		t.Errorf("errors %q, want one about the stream flag", spy.errs)
	}
}

// TestTokensAtLeastRecorded: the fake counts at least as many tokens as
// the real servers did for every prompt and input whose count they
// reported (usage.prompt_tokens, the context-size 400, the too-large
// 500) — except the prompt Ollama cut to its window.
func TestTokensAtLeastRecorded(t *testing.T) {
	tokensRE := regexp.MustCompile(`(?:request|input) \((\d+) tokens\)`)
	checked := 0
	for name, ex := range recordings(t) {
		var real int
		var usage struct {
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
			} `json:"usage"`
		}
		if m := tokensRE.FindStringSubmatch(ex.Response.Body); m != nil {
			real, _ = strconv.Atoi(m[1])
		} else if json.Unmarshal([]byte(ex.Response.Body), &usage) == nil {
			real = usage.Usage.PromptTokens
		}
		if real == 0 || strings.Contains(ex.Notes, "truncat") {
			continue
		}
		var ours int
		switch ex.Request.Path {
		case ChatPath:
			var req ChatRequest
			if err := json.Unmarshal([]byte(ex.Request.Body), &req); err != nil {
				t.Fatal(err)
			}
			ours = req.PromptTokens()
		case EmbedPath:
			var req struct {
				Input []string `json:"input"`
			}
			if err := json.Unmarshal([]byte(ex.Request.Body), &req); err != nil {
				t.Fatal(err)
			}
			for _, in := range req.Input {
				ours = max(ours, Tokens(in)) // the too-large error names one input
			}
			if !strings.Contains(ex.Response.Body, "too large") {
				ours = 0
				for _, in := range req.Input {
					ours += Tokens(in)
				}
			}
		default:
			continue
		}
		checked++
		if ours < real {
			t.Errorf("%s: the fake counts %d tokens, the server %d", name, ours, real)
		}
		t.Logf("%s: server %d tokens, fake %d", name, real, ours)
	}
	if checked < 6 {
		t.Errorf("only %d recordings with a token count", checked)
	}
}
