package openaicompat

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Explain turns err, from a request for model (empty when none) to the
// server at baseURL, into a one-line message a user can act on: a rejected
// key, an unknown model, a wrong base URL, a rate limit, a server failure,
// nothing listening, an unknown host, a timeout, a Retry-After too long to
// wait for. The original error stays reachable with errors.Is and
// errors.As. Explain returns err itself when it has nothing to add.
func Explain(baseURL, model string, err error) error {
	if err == nil {
		return nil
	}
	if ra, ok := errors.AsType[*RetryAfterError](err); ok {
		inner := Explain(baseURL, model, ra.Err)
		if ra.NoTimeLeft {
			return &explained{msg: fmt.Sprintf("no time left to retry after %s: %v", ra.Wait.Round(time.Millisecond), inner), err: err}
		}
		return &explained{msg: fmt.Sprintf("%s asks to retry after %s (%d): %v", baseURL, ra.Wait.Round(time.Second), ra.Status, inner), err: err}
	}
	if _, ok := errors.AsType[*timeoutError](err); ok {
		return err // already says which server did not answer in time
	}
	msg := func(format string, args ...any) error {
		return &explained{msg: fmt.Sprintf(format, args...), err: err}
	}
	status := Status(err)
	text := strings.ToLower(errorText(err))
	apiErr, isAPI := errors.AsType[*openai.APIError](err)
	switch {
	case status == http.StatusUnauthorized:
		return msg("the server rejected the API key (401)")
	case status == http.StatusForbidden:
		return msg("the server refused access (403): %s", serverMessage(err))
	case isAPI && apiErr.Code == "model_not_found",
		status == http.StatusNotFound && model != "" && strings.Contains(text, "model"):
		return msg("model %s is not available on %s", model, baseURL)
	case status == http.StatusNotFound:
		return msg("%s answered 404 Not Found: is the base URL right? It usually ends in /v1", baseURL)
	case status == http.StatusTooManyRequests:
		return msg("%s is rate limiting requests (429): %s", baseURL, serverMessage(err))
	case status >= 500:
		return msg("%s failed (%d): %s", baseURL, status, serverMessage(err))
	case status != 0:
		return msg("%s rejected the request (%d): %s", baseURL, status, serverMessage(err))
	case errors.Is(err, syscall.ECONNREFUSED):
		return msg("cannot reach %s: connection refused", baseURL)
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		return msg("cannot reach %s: unknown host %s", baseURL, dnsErr.Name)
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return msg("cannot reach %s: %v", baseURL, err)
	}
	return err
}

// explained is a one-line message for the user over the client's error.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

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
