package openaicompat

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Error is a failed request explained for a user. Error() is a one-line
// message naming the server ("http://localhost:8080/v1 did not answer
// within 60s"); Cause is the same failure as a phrase whose subject is the
// server or its model, for sentences such as "the model at <Server>
// <Cause>". The client's error stays reachable with errors.Is and
// errors.As.
type Error struct {
	// Server is the base URL of the server.
	Server string
	// Cause says what went wrong: "did not answer within 60s", "could not
	// be reached (connection refused: is the server running?)", "failed
	// (500): …".
	Cause string
	msg   string
	err   error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// Explain turns err, from a request for model (empty when none) to the
// server at baseURL, into an *Error a user can act on: a rejected key, an
// unknown model, a wrong base URL, a rate limit, a server failure, a prompt
// over the context window, nothing listening, an unknown host, a timeout, a
// dropped connection or a reply stream cut short, a Retry-After too long to
// wait for. An error already explained is returned as it is; nil stays nil.
func Explain(baseURL, model string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok && e == err {
		return err
	}
	e := &Error{Server: baseURL, err: err}
	both := func(cause string) *Error { e.Cause, e.msg = cause, baseURL+" "+cause; return e }
	if ra, ok := errors.AsType[*RetryAfterError](err); ok {
		inner := Explain(baseURL, model, ra.Err).(*Error)
		if ra.NoTimeLeft {
			e.Cause = inner.Cause + fmt.Sprintf(", with no time left to retry in %s", ra.Wait.Round(time.Millisecond))
			e.msg = fmt.Sprintf("no time left to retry after %s: %v", ra.Wait.Round(time.Millisecond), inner)
			return e
		}
		wait := fmt.Sprintf("asks to retry after %s (%d): ", ra.Wait.Round(time.Second), ra.Status)
		e.Cause, e.msg = wait+inner.Cause, baseURL+" "+wait+inner.msg
		return e
	}
	if t, ok := errors.AsType[*timeoutError](err); ok {
		return both("did not answer within " + t.after.String())
	}
	if errors.Is(err, ErrIncomplete) {
		return both("broke off its reply: the stream ended before the model finished")
	}
	status := Status(err)
	text := strings.ToLower(errorText(err))
	apiErr, isAPI := errors.AsType[*openai.APIError](err)
	switch {
	case status == http.StatusUnauthorized:
		return both("rejected the API key (401)")
	case status == http.StatusForbidden:
		return both("refused access (403): " + serverMessage(err))
	case isAPI && apiErr.Code == "model_not_found",
		status == http.StatusNotFound && model != "" && strings.Contains(text, "model"):
		e.Cause = fmt.Sprintf("is not available: the server has no model %s (404)", model)
		e.msg = fmt.Sprintf("model %s is not available on %s", model, baseURL)
		return e
	case status == http.StatusNotFound:
		e.Cause = "is not there (404 Not Found): is the base URL right? It usually ends in /v1"
		e.msg = baseURL + " answered 404 Not Found: is the base URL right? It usually ends in /v1"
		return e
	case status == http.StatusTooManyRequests:
		return both("is rate limiting requests (429): " + serverMessage(err))
	case status == http.StatusNotImplemented:
		return both("does not support this request (501): " + serverMessage(err))
	case status >= 500:
		return both(fmt.Sprintf("failed (%d): %s", status, serverMessage(err)))
	case ContextOverflow(err):
		return both(fmt.Sprintf("rejected the prompt as longer than its context window (%d): %s", status, serverMessage(err)))
	case status != 0:
		return both(fmt.Sprintf("rejected the request (%d): %s", status, serverMessage(err)))
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Cause = "could not be reached (connection refused: is the server running?)"
		e.msg = "cannot reach " + baseURL + ": connection refused"
		return e
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return both("dropped the connection mid-reply")
	case errors.Is(err, io.EOF):
		return both("closed the connection without answering")
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		e.Cause = "could not be reached (unknown host " + dnsErr.Name + ")"
		e.msg = "cannot reach " + baseURL + ": unknown host " + dnsErr.Name
		return e
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		e.Cause = "could not be reached (" + OneLine(err.Error(), 200) + ")"
		e.msg = "cannot reach " + baseURL + ": " + OneLine(err.Error(), 0)
		return e
	}
	e.Cause = "failed: " + OneLine(err.Error(), 200)
	e.msg = OneLine(err.Error(), 0)
	return e
}

// SchemaRejected reports whether err is a server refusing response_format
// json_schema (OpenAI-compatible servers answer 400 or 422 naming the
// parameter); the caller should ask again without a schema.
func SchemaRejected(err error) bool {
	status := Status(err)
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		return false
	}
	msg := strings.ToLower(errorText(err))
	for _, s := range []string{"response_format", "json_schema", "response format", "structured output"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// ContextOverflow reports whether err is a server rejecting a prompt longer
// than the model's context window: llama-server's 400
// exceed_context_size_error ("request (2813 tokens) exceeds the available
// context size (512 tokens)"), OpenAI's and vLLM's context_length_exceeded
// ("This model's maximum context length is …").
func ContextOverflow(err error) bool {
	status := Status(err)
	if status < 400 || status >= 500 {
		return false
	}
	msg := strings.ToLower(errorText(err))
	if apiErr, ok := errors.AsType[*openai.APIError](err); ok {
		msg += " " + apiErr.Type
	}
	for _, s := range []string{"context size", "context length", "context window", "exceed_context_size", "context_length_exceeded"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// tooLargeRE reads llama-server's "input (1202 tokens) is too large to
// process. increase the physical batch size (current batch size: 512)".
var tooLargeRE = regexp.MustCompile(`input \((\d+) tokens\) is too large.*batch size: (\d+)`)

// InputTooLarge reports whether err is an embedding server refusing an
// input longer than it can take in one piece, a request that fails however
// often it is retried: llama-server's 500 "input (N tokens) is too large to
// process …" (got N, limit the batch size), a 413, or a 400 about the
// context length. got and limit are 0 when the server does not say.
func InputTooLarge(err error) (got, limit int, ok bool) {
	if err == nil {
		return 0, 0, false
	}
	status := Status(err)
	text := strings.ToLower(errorText(err))
	if m := tooLargeRE.FindStringSubmatch(text); m != nil {
		got, _ = strconv.Atoi(m[1])
		limit, _ = strconv.Atoi(m[2])
		return got, limit, true
	}
	switch {
	case status == http.StatusRequestEntityTooLarge:
		return 0, 0, true
	case strings.Contains(text, "too large to process"), strings.Contains(text, "input is too long"),
		strings.Contains(text, "exceeds the context length"), strings.Contains(text, "input length exceeds"):
		return 0, 0, true
	case ContextOverflow(err):
		return 0, 0, true
	}
	return 0, 0, false
}

// errorText is the server's own message (and body) of err.
func errorText(err error) string {
	if apiErr, ok := errors.AsType[*openai.APIError](err); ok {
		s := apiErr.Message
		if apiErr.Param != nil {
			s += " " + *apiErr.Param
		}
		if code, ok := apiErr.Code.(string); ok {
			s += " " + code
		}
		return s
	}
	if reqErr, ok := errors.AsType[*openai.RequestError](err); ok {
		return string(reqErr.Body)
	}
	return err.Error()
}

// serverMessage is the server's message of err on one line, for an error
// line.
func serverMessage(err error) string {
	if s := OneLine(errorText(err), 200); s != "" {
		return s
	}
	return "no message"
}

// OneLine puts s on one line (every run of white space, newlines included,
// becomes one space) and, when max > 0, cuts it to max runes with "…". It
// is the one way verbatim shortens server messages, model replies and
// errors for a log or an error line.
func OneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); max > 0 && len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}
