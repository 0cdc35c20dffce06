package discordtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// errorsTB records Errorf calls instead of failing the test.
type errorsTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *errorsTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *errorsTB) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	list   []any
}

// do sends one REST request as a bot would, with the bot token.
func do(t *testing.T, s *Server, method, path string, body any) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL()+"api/v9"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bot test-token")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 && raw[0] == '[' {
		_ = json.Unmarshal(raw, &r.list)
	} else if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	return r
}

func (r result) code() int {
	c, _ := r.body["code"].(float64)
	return int(c)
}

func TestServerRejectsEmptySegmentsAndUnknownRoutes(t *testing.T) {
	rec := &errorsTB{TB: t}
	s := New(rec)
	defer http.DefaultClient.CloseIdleConnections()
	for _, tc := range []struct {
		method, path string
		status       int
		report       string
	}{
		{"POST", "/channels//messages", http.StatusBadRequest, "empty segment"},
		{"GET", "/guilds/1/emojis", http.StatusNotFound, "no such route"},
		{"POST", "/channels/" + ChannelID + "/typing", http.StatusNoContent, ""},
	} {
		if r := do(t, s, tc.method, tc.path, nil); r.status != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, r.status, tc.status)
		}
		if tc.report != "" && !strings.Contains(rec.all(), tc.report) {
			t.Errorf("%s %s not reported; reports: %s", tc.method, tc.path, rec.all())
		}
	}
	if c := s.WaitCall(t, time.Second, "typing", func(c Call) bool { return strings.HasSuffix(c.Path, "/typing") }); c.Method != "POST" || c.Body != nil {
		t.Errorf("recorded %+v", c)
	}
	s.NoCall(t, 50*time.Millisecond, "a PATCH", func(c Call) bool { return c.Method == "PATCH" })
}

func content(s string) map[string]any { return map[string]any{"content": s} }

func embed(e map[string]any) map[string]any { return map[string]any{"embeds": []any{e}} }

// TestServerRejectsWhatDiscordRejects sends one bad message body per rule
// and expects Discord's status and JSON code.
func TestServerRejectsWhatDiscordRejects(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	button := func(id string) map[string]any {
		return map[string]any{"type": 2, "style": 2, "label": "b", "custom_id": id}
	}
	row := func(n int, prefix string) map[string]any {
		var bs []any
		for i := range n {
			bs = append(bs, button(fmt.Sprintf("%s%d", prefix, i)))
		}
		return map[string]any{"type": 1, "components": bs}
	}
	many := func(n int) []any {
		var fs []any
		for i := range n {
			fs = append(fs, map[string]any{"name": fmt.Sprint(i), "value": "v"})
		}
		return fs
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   int
	}{
		{"fine", content("hello"), 200, 0},
		{"content over 2000", content(strings.Repeat("x", 2001)), 400, 50035},
		{"empty message", content("  "), 400, 50006},
		{"no body fields", map[string]any{"embeds": []any{}}, 400, 50006},
		{"title over 256", embed(map[string]any{"title": strings.Repeat("t", 257)}), 400, 50035},
		{"description over 4096", embed(map[string]any{"description": strings.Repeat("d", 4097)}), 400, 50035},
		{"26 fields", embed(map[string]any{"title": "t", "fields": many(26)}), 400, 50035},
		{"field value over 1024", embed(map[string]any{"fields": []any{map[string]any{"name": "n", "value": strings.Repeat("v", 1025)}}}), 400, 50035},
		{"footer over 2048", embed(map[string]any{"footer": map[string]any{"text": strings.Repeat("f", 2049)}}), 400, 50035},
		{"embeds over 6000 in total", map[string]any{"embeds": []any{
			map[string]any{"description": strings.Repeat("a", 4000)}, map[string]any{"description": strings.Repeat("b", 2001)},
		}}, 400, 50035},
		{"11 embeds", map[string]any{"embeds": func() []any {
			var es []any
			for range 11 {
				es = append(es, map[string]any{"title": "x"})
			}
			return es
		}()}, 400, 50035},
		{"relative url", embed(map[string]any{"title": "t", "url": "/articles/a"}), 400, 50035},
		{"no scheme", embed(map[string]any{"title": "t", "url": "example.org/a"}), 400, 50035},
		{"ftp url", embed(map[string]any{"title": "t", "url": "ftp://example.org/a"}), 400, 50035},
		{"url over 2048", embed(map[string]any{"title": "t", "url": "https://example.org/" + strings.Repeat("a", 2040)}), 400, 50035},
		{"good url", embed(map[string]any{"title": "t", "url": "https://example.org/a"}), 200, 0},
		{"6 rows", map[string]any{"content": "c", "components": []any{row(1, "a"), row(1, "b"), row(1, "c"), row(1, "d"), row(1, "e"), row(1, "f")}}, 400, 50035},
		{"6 buttons in a row", map[string]any{"content": "c", "components": []any{row(6, "a")}}, 400, 50035},
		{"custom_id over 100", map[string]any{"content": "c", "components": []any{map[string]any{"type": 1, "components": []any{button(strings.Repeat("i", 101))}}}}, 400, 50035},
		{"duplicate custom_id", map[string]any{"content": "c", "components": []any{map[string]any{"type": 1, "components": []any{button("x"), button("x")}}}}, 400, 50035},
		{"5×5 buttons", map[string]any{"content": "c", "components": []any{row(5, "a"), row(5, "b"), row(5, "c"), row(5, "d"), row(5, "e")}}, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, s, "POST", "/channels/"+ChannelID+"/messages", tt.body)
			if r.status != tt.status || (tt.code != 0 && r.code() != tt.code) {
				t.Errorf("status %d code %d, want %d %d (%v)", r.status, r.code(), tt.status, tt.code, r.body)
			}
		})
	}
}

// TestServerInteractionLifecycle: one initial response within 3 s, then
// 40060; a late one 10062; edits and follow-ups for 15 minutes.
func TestServerInteractionLifecycle(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	reg := func() Interaction {
		in, _ := s.interaction(interactionCommand, User{ID: "1", Name: "u"}, GuildID, ChannelID, 0, 0, map[string]any{"name": "ask"})
		return in
	}
	in := reg()
	if r := do(t, s, "PATCH", in.OriginalPath(), content("too early")); r.status != 404 {
		t.Errorf("edit before the response: %d, want 404", r.status)
	}
	if r := do(t, s, "POST", in.CallbackPath(), map[string]any{"type": 5}); r.status != 204 {
		t.Fatalf("deferral: %d %v", r.status, r.body)
	}
	if r := do(t, s, "POST", in.CallbackPath(), map[string]any{"type": 5}); r.status != 400 || r.code() != 40060 {
		t.Errorf("second response: %d %d, want 400 40060", r.status, r.code())
	}
	if r := do(t, s, "PATCH", in.OriginalPath(), map[string]any{"content": "", "embeds": []any{}}); r.status != 400 || r.code() != 50006 {
		t.Errorf("edit to an empty message: %d %d, want 400 50006", r.status, r.code())
	}
	if r := do(t, s, "PATCH", in.OriginalPath(), content("answer")); r.status != 200 {
		t.Errorf("edit: %d %v", r.status, r.body)
	}
	if r := do(t, s, "POST", in.FollowupPath()+"?wait=true", content("more")); r.status != 200 {
		t.Errorf("follow-up: %d %v", r.status, r.body)
	}
	s.AgeInteraction(in, TokenLifetime)
	if r := do(t, s, "PATCH", in.OriginalPath(), content("late")); r.status != 401 || r.code() != 50027 {
		t.Errorf("edit after 15 minutes: %d %d, want 401 50027", r.status, r.code())
	}

	late := reg()
	s.AgeInteraction(late, AckDeadline+time.Millisecond)
	if r := do(t, s, "POST", late.CallbackPath(), map[string]any{"type": 5}); r.status != 404 || r.code() != 10062 {
		t.Errorf("response after 3 s: %d %d, want 404 10062", r.status, r.code())
	}
	if r := do(t, s, "POST", "/interactions/1/nope/callback", map[string]any{"type": 5}); r.status != 404 || r.code() != 10062 {
		t.Errorf("unknown interaction: %d %d", r.status, r.code())
	}
	auto, _ := s.interaction(interactionAutocomplete, User{ID: "1"}, GuildID, ChannelID, 0, 0, map[string]any{"name": "sources"})
	if r := do(t, s, "POST", auto.CallbackPath(), map[string]any{"type": 4, "data": content("x")}); r.status != 400 {
		t.Errorf("a message answering an autocomplete: %d, want 400", r.status)
	}
	var choices []any
	for i := range 26 {
		choices = append(choices, map[string]any{"name": fmt.Sprint(i), "value": fmt.Sprint(i)})
	}
	if r := do(t, s, "POST", auto.CallbackPath(), map[string]any{"type": 8, "data": map[string]any{"choices": choices}}); r.status != 400 || r.code() != 50035 {
		t.Errorf("26 choices: %d %d, want 400 50035", r.status, r.code())
	}
}

// TestServerPermissionsAndChannels: unknown channels, missing permissions,
// embeds without Embed Links, threads.
func TestServerPermissionsAndChannels(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	if r := do(t, s, "POST", "/channels/12345/messages", content("hi")); r.status != 404 || r.code() != 10003 {
		t.Errorf("unknown channel: %d %d, want 404 10003", r.status, r.code())
	}
	s.AddChannel(Channel{ID: "77", GuildID: GuildID, Type: ChannelText, Perms: Perms{NoSend: true}})
	if r := do(t, s, "POST", "/channels/77/messages", content("hi")); r.status != 403 || r.code() != 50013 {
		t.Errorf("no Send Messages: %d %d, want 403 50013", r.status, r.code())
	}
	s.AddChannel(Channel{ID: "78", GuildID: GuildID, Type: ChannelText, Perms: Perms{NoEmbedLinks: true}})
	if r := do(t, s, "POST", "/channels/78/messages", embed(map[string]any{"title": "t"})); r.status != 403 || r.code() != 50013 {
		t.Errorf("embed-only without Embed Links: %d %d, want 403 50013", r.status, r.code())
	}
	r := do(t, s, "POST", "/channels/78/messages", map[string]any{"content": "c", "embeds": []any{map[string]any{"title": "t"}}})
	if es, _ := r.body["embeds"].([]any); r.status != 200 || len(es) != 0 {
		t.Errorf("content and embed without Embed Links: %d, embeds %v; want the embeds dropped", r.status, r.body["embeds"])
	}
	if n := s.InvalidRequests(); n != 2 {
		t.Errorf("invalid requests = %d, want the two 403s", n)
	}

	msg := do(t, s, "POST", "/channels/"+ChannelID+"/messages", content("answer"))
	id, _ := msg.body["id"].(string)
	th := do(t, s, "POST", "/channels/"+ChannelID+"/messages/"+id+"/threads", map[string]any{"name": "follow-ups", "auto_archive_duration": 1440})
	if th.status != 201 || th.body["id"] != id || th.body["parent_id"] != ChannelID {
		t.Fatalf("thread from a message: %d %v", th.status, th.body)
	}
	if r := do(t, s, "POST", "/channels/"+ChannelID+"/messages/"+id+"/threads", map[string]any{"name": "again"}); r.status != 400 || r.code() != 160004 {
		t.Errorf("second thread: %d %d, want 400 160004", r.status, r.code())
	}
	if r := do(t, s, "POST", "/channels/"+id+"/messages", content("in the thread")); r.status != 200 {
		t.Errorf("message in the thread: %d %v", r.status, r.body)
	}
	s.SetPerms(ChannelID, Perms{NoSendInThreads: true})
	if r := do(t, s, "POST", "/channels/"+id+"/messages", content("again")); r.status != 403 {
		t.Errorf("no Send Messages in Threads: %d, want 403", r.status)
	}
	s.SetPerms(ChannelID, Perms{NoCreatePublicThread: true})
	msg = do(t, s, "POST", "/channels/"+ChannelID+"/messages", content("answer"))
	id, _ = msg.body["id"].(string)
	if r := do(t, s, "POST", "/channels/"+ChannelID+"/messages/"+id+"/threads", map[string]any{"name": "x"}); r.status != 403 || r.code() != 50013 {
		t.Errorf("no Create Public Threads: %d %d", r.status, r.code())
	}
	if r := do(t, s, "POST", "/channels/"+ChannelID+"/messages/"+id+"/threads", map[string]any{"name": strings.Repeat("n", 101)}); r.status != 400 {
		t.Errorf("thread name over 100: %d", r.status)
	}
}

// TestServerNonce: a retried message with the same nonce and
// enforce_nonce is not created twice.
func TestServerNonce(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	body := map[string]any{"content": "once", "nonce": "n-1", "enforce_nonce": true}
	a := do(t, s, "POST", "/channels/"+ChannelID+"/messages", body)
	b := do(t, s, "POST", "/channels/"+ChannelID+"/messages", body)
	if a.status != 200 || b.status != 200 || a.body["id"] != b.body["id"] {
		t.Errorf("retry with the nonce: %v / %v, want the same message", a.body["id"], b.body["id"])
	}
	if n := len(s.Messages(ChannelID)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// TestServerRateLimits: injected and enforced 429s look like Discord's,
// and a global one holds back every route but the interaction endpoints.
func TestServerRateLimits(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	isSend := func(c Call) bool { return c.Method == "POST" && strings.HasSuffix(c.Path, "/messages") }
	s.EnforceLimit(isSend, 2, time.Minute)
	for i := range 2 {
		r := do(t, s, "POST", "/channels/"+ChannelID+"/messages", content("x"))
		if r.status != 200 || r.header.Get("X-RateLimit-Limit") != "2" || r.header.Get("X-RateLimit-Remaining") != fmt.Sprint(1-i) ||
			r.header.Get("X-RateLimit-Bucket") == "" || r.header.Get("X-RateLimit-Reset-After") == "" {
			t.Errorf("send %d: %d %v", i, r.status, r.header)
		}
	}
	r := do(t, s, "POST", "/channels/"+ChannelID+"/messages", content("x"))
	if r.status != 429 || r.header.Get("X-RateLimit-Scope") != "user" || r.header.Get("Retry-After") == "" {
		t.Errorf("third send: %d %v", r.status, r.header)
	}
	if ra, _ := r.body["retry_after"].(float64); ra <= 0 || ra > 60 || r.body["global"] != false {
		t.Errorf("429 body = %v", r.body)
	}

	s.RateLimitNext(func(c Call) bool { return strings.HasSuffix(c.Path, "/typing") }, RateLimit{RetryAfter: 300 * time.Millisecond, Global: true}, 1)
	r = do(t, s, "POST", "/channels/"+ChannelID+"/typing", nil)
	if r.status != 429 || r.header.Get("X-RateLimit-Global") != "true" || r.body["global"] != true {
		t.Errorf("global 429: %d %v %v", r.status, r.header, r.body)
	}
	if r := do(t, s, "GET", "/channels/"+ChannelID, nil); r.status != 429 {
		t.Errorf("another route during the global limit: %d, want 429", r.status)
	}
	in, _ := s.interaction(interactionCommand, User{ID: "1"}, GuildID, ChannelID, 0, 0, map[string]any{"name": "ask"})
	if r := do(t, s, "POST", in.CallbackPath(), map[string]any{"type": 5}); r.status != 204 {
		t.Errorf("interaction callback during the global limit: %d, want 204 (not bound by it)", r.status)
	}
	time.Sleep(350 * time.Millisecond)
	if r := do(t, s, "GET", "/channels/"+ChannelID, nil); r.status != 200 {
		t.Errorf("after the global limit: %d", r.status)
	}
}

// TestServerProcessedFailure: a failure injected after processing still
// takes effect.
func TestServerProcessedFailure(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	s.FailNextProcessed(func(c Call) bool { return c.Method == "POST" }, 500, 1)
	if r := do(t, s, "POST", "/channels/"+ChannelID+"/messages", content("x")); r.status != 500 {
		t.Fatalf("status %d", r.status)
	}
	if n := len(s.Messages(ChannelID)); n != 1 {
		t.Errorf("%d messages after a processed failure, want 1", n)
	}
}

// TestServerRegistrationLimits: commands Discord would refuse are refused.
func TestServerRegistrationLimits(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	path := "/applications/" + AppID + "/commands"
	good := map[string]any{"name": "ask", "description": "Ask", "options": []any{
		map[string]any{"type": 3, "name": "question", "description": "Q", "required": true, "max_length": 6000},
	}}
	if r := do(t, s, "PUT", path, []any{good, map[string]any{"type": 3, "name": "Ask verbatim"}}); r.status != 200 {
		t.Errorf("good commands: %d %v", r.status, r.body)
	}
	for name, cmd := range map[string]map[string]any{
		"max_length over 6000":      {"name": "ask", "description": "Ask", "options": []any{map[string]any{"type": 3, "name": "q", "description": "Q", "max_length": 6001}}},
		"uppercase chat name":       {"name": "Ask", "description": "Ask"},
		"no description":            {"name": "ask"},
		"message command with text": {"type": 3, "name": "Ask verbatim", "description": "no"},
	} {
		if r := do(t, s, "PUT", path, []any{cmd}); r.status != 400 || r.code() != 50035 {
			t.Errorf("%s: %d %d, want 400 50035", name, r.status, r.code())
		}
	}
}

// TestServerOffersCommandsAsDiscordDoes: a command registered with
// default_member_permissions reaches the bot only from members with those
// permissions (or administrators), and a guild-only command not from a DM.
func TestServerOffersCommandsAsDiscordDoes(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	cmds := []map[string]any{
		{"name": "ask", "description": "Ask", "contexts": []int{0, 1}},
		{"name": "add", "description": "Add a page", "contexts": []int{0}, "default_member_permissions": "32"},
		{"name": "purge", "description": "Admins only", "contexts": []int{0}, "default_member_permissions": "0"},
	}
	if r := do(t, s, "PUT", "/applications/"+AppID+"/guilds/"+GuildID+"/commands", cmds); r.status != 200 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	member := User{ID: "700000000000000009", Name: "member"}
	cases := []struct {
		name    string
		command string
		guild   string
		perms   int64
		offered bool
	}{
		{"anyone may ask", "ask", GuildID, 0, true},
		{"a member without Manage Server may not add", "add", GuildID, 0, false},
		{"Manage Server may add", "add", GuildID, MemberPerms | PermManageGuild, true},
		{"an administrator may add", "add", GuildID, PermAdministrator, true},
		{"not in a DM", "add", "", 0, false},
		{"0 is administrators only", "purge", GuildID, MemberPerms | PermManageGuild, false},
		{"0 lets administrators", "purge", GuildID, PermAdministrator | PermSendMessages, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			slash := Slash{Name: c.command, User: member, GuildID: c.guild, MemberPermissions: c.perms}
			err := s.offered(slash)
			if c.offered && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !c.offered && !errors.Is(err, ErrNotOffered) {
				t.Errorf("err = %v, want ErrNotOffered", err)
			}
			if !c.offered {
				// Nothing is dispatched (there is no gateway connection here
				// for it to go to).
				if _, err := s.TrySendSlash(t, slash); !errors.Is(err, ErrNotOffered) {
					t.Errorf("TrySendSlash: %v", err)
				}
			}
		})
	}
}
