package discordtest

import (
	"net/http"
	"strconv"
	"testing"
)

// TestServerListsMessagesAsDiscordDoes: GET /channels/{id}/messages pages
// newest first around before/after, checks limit and snowflakes, and answers an empty list (not an error) without Read
// Message History.
func TestServerListsMessagesAsDiscordDoes(t *testing.T) {
	s := New(t)
	defer http.DefaultClient.CloseIdleConnections()
	path := "/channels/" + ChannelID + "/messages"
	var ids []string
	for i := range 5 {
		r := do(t, s, "POST", path, content("m"+strconv.Itoa(i)))
		if r.status != http.StatusOK {
			t.Fatalf("post: %d %v", r.status, r.body)
		}
		ids = append(ids, r.body["id"].(string))
	}
	contents := func(r result) []string {
		var out []string
		for _, m := range r.list {
			out = append(out, m.(map[string]any)["content"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"m4", "m3", "m2", "m1", "m0"}},
		{"?limit=2", []string{"m4", "m3"}},
		{"?after=" + ids[1] + "&limit=2", []string{"m3", "m2"}},
		{"?before=" + ids[3], []string{"m2", "m1", "m0"}},
	} {
		r := do(t, s, "GET", path+tc.query, nil)
		if got := contents(r); r.status != http.StatusOK || len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1])) {
			t.Errorf("GET %s: %d %v, want %v", tc.query, r.status, got, tc.want)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?after=x", "?after=1&before=9"} {
		if r := do(t, s, "GET", path+q, nil); r.status != http.StatusBadRequest || r.code() != 50035 {
			t.Errorf("GET %s: %d code %d, want 400 50035", q, r.status, r.code())
		}
	}

	s.SetPerms(ChannelID, Perms{NoReadHistory: true})
	if r := do(t, s, "GET", path, nil); r.status != http.StatusOK || r.list == nil || len(r.list) != 0 {
		t.Errorf("without Read Message History: %d %v, want 200 []", r.status, r.list)
	}
	s.SetPerms(ChannelID, Perms{NoView: true})
	if r := do(t, s, "GET", path, nil); r.status != http.StatusForbidden || r.code() != 50001 {
		t.Errorf("without View Channel: %d code %d, want 403 50001", r.status, r.code())
	}
}
