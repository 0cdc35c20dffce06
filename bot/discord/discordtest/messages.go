package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// readMessage decodes and checks the message body of c.
func readMessage(c Call) (messageBody, *apiError) {
	var body messageBody
	if e := decodeBody(c, &body); e != nil {
		return body, e
	}
	return body, validateMessage(body)
}

// readThread decodes and checks the body of a thread start.
func readThread(c Call) (threadBody, *apiError) {
	var body threadBody
	if e := decodeBody(c, &body); e != nil {
		return body, e
	}
	return body, validateThread(body)
}

// applyEdit merges body into m as Discord does for an edit (absent fields
// keep their value) and checks the result is not empty.
func applyEdit(m *StoredMessage, body messageBody) *apiError {
	next := *m
	if body.Content != nil {
		next.Content = *body.Content
	}
	if body.Embeds != nil {
		next.Embeds = *body.Embeds
	}
	if body.Components != nil {
		next.Components = *body.Components
	}
	if !hasBody(next.Content, next.Embeds, 0) {
		return emptyMessage()
	}
	next.Edits++
	*m = next
	return nil
}

func nonceString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw) // an integer nonce
}

// createMessage is POST /channels/{id}/messages.
func (s *Server) createMessage(c Call, channelID string) response {
	body, e := readMessage(c)
	if e != nil {
		return failed(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, e := s.channelLocked(channelID)
	if e != nil {
		return failed(e)
	}
	if e := s.sendPermLocked(ch); e != nil {
		return failed(e)
	}
	m := &StoredMessage{ID: "", ChannelID: channelID, AuthorID: BotID, Created: time.Now(), Nonce: nonceString(body.Nonce)}
	if body.Content != nil {
		m.Content = *body.Content
	}
	if body.Embeds != nil {
		m.Embeds = *body.Embeds
	}
	if body.Components != nil {
		m.Components = *body.Components
	}
	if !hasBody(m.Content, m.Embeds, len(body.StickerIDs)) {
		return failed(emptyMessage())
	}
	if s.permsLocked(ch).NoEmbedLinks && len(m.Embeds) > 0 {
		// Discord refuses an embed-only message and silently drops the
		// embeds of one with content.
		if strings.TrimSpace(m.Content) == "" {
			return failed(missingPermissions())
		}
		m.Embeds = nil
	}
	if body.MessageReference != nil {
		ref := body.MessageReference
		if s.permsLocked(ch).NoReadHistory {
			return failed(missingPermissions())
		}
		if _, known := s.rest.messages[ref.MessageID]; !known {
			if ref.FailIfNotExists == nil || *ref.FailIfNotExists {
				return failed(invalidForm("message_reference", "Unknown message"))
			}
		} else {
			m.ReplyTo = ref.MessageID
		}
	}
	key := ""
	if m.Nonce != "" && body.EnforceNonce {
		key = BotID + "/" + channelID + "/" + m.Nonce
		if id, dup := s.rest.nonces[key]; dup {
			return ok(s.messageJSON(s.rest.messages[id])) // the message it already made
		}
	}
	m.ID = s.newIDLocked()
	s.storeLocked(m)
	if key != "" {
		s.rest.nonces[key] = m.ID
	}
	return ok(s.messageJSON(m))
}

// editMessage is PATCH /channels/{id}/messages/{id}.
func (s *Server) editMessage(c Call, channelID, messageID string) response {
	body, e := readMessage(c)
	if e != nil {
		return failed(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, e := s.channelLocked(channelID)
	if e != nil {
		return failed(e)
	}
	m, known := s.rest.messages[messageID]
	if !known || m.ChannelID != channelID {
		return failed(apiErr(http.StatusNotFound, 10008, "Unknown Message"))
	}
	if m.AuthorID != BotID {
		return failed(apiErr(http.StatusForbidden, 50005, "Cannot edit a message authored by another user"))
	}
	if body.Embeds != nil && len(*body.Embeds) > 0 && s.permsLocked(ch).NoEmbedLinks {
		stripped := []embedBody{}
		body.Embeds = &stripped
	}
	if e := applyEdit(m, body); e != nil {
		return failed(e)
	}
	return ok(s.messageJSON(m))
}

func (s *Server) getMessage(channelID, messageID string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, e := s.channelLocked(channelID)
	if e != nil {
		return failed(e)
	}
	if s.permsLocked(ch).NoReadHistory {
		return failed(missingPermissions())
	}
	m, known := s.rest.messages[messageID]
	if !known || m.ChannelID != channelID {
		return failed(apiErr(http.StatusNotFound, 10008, "Unknown Message"))
	}
	return ok(s.visibleJSON(m))
}

// visibleJSON is m as the bot sees it without the Message Content intent.
func (s *Server) visibleJSON(m *StoredMessage) map[string]any {
	out := s.messageJSON(m)
	if m.AuthorID != BotID {
		if c, ok := s.rest.channels[m.ChannelID]; ok && c.GuildID != "" && !strings.Contains(m.Content, "<@"+BotID+">") {
			out["content"] = ""
			out["embeds"] = []any{}
			out["components"] = []any{}
		}
	}
	return out
}

type threadBody struct {
	Name                string `json:"name"`
	AutoArchiveDuration int    `json:"auto_archive_duration"`
	Type                int    `json:"type"`
	RateLimitPerUser    int    `json:"rate_limit_per_user"`
}

func validateThread(b threadBody) *apiError {
	if n := textLen(b.Name); n < 1 || n > 100 {
		return invalidForm("name", "Must be between 1 and 100 in length.")
	}
	switch b.AutoArchiveDuration {
	case 0, 60, 1440, 4320, 10080:
	default:
		return invalidForm("auto_archive_duration", "Value must be one of (60, 1440, 4320, 10080).")
	}
	return nil
}

// threadFromMessage is POST /channels/{id}/messages/{id}/threads: a public
// thread whose ID is the message's.
func (s *Server) threadFromMessage(c Call, channelID, messageID string) response {
	body, e := readThread(c)
	if e != nil {
		return failed(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, e := s.channelLocked(channelID)
	if e != nil {
		return failed(e)
	}
	if ch.Type != ChannelText {
		return failed(apiErr(http.StatusBadRequest, 50024, "Cannot execute action on this channel type"))
	}
	p := s.permsLocked(ch)
	if p.NoCreatePublicThread || p.NoReadHistory {
		return failed(missingPermissions())
	}
	m, known := s.rest.messages[messageID]
	if !known || m.ChannelID != channelID {
		return failed(apiErr(http.StatusNotFound, 10008, "Unknown Message"))
	}
	if m.Flags&64 != 0 {
		return failed(apiErr(http.StatusNotFound, 10008, "Unknown Message")) // ephemeral messages are not in the channel
	}
	if _, dup := s.rest.threads[messageID]; dup {
		return failed(apiErr(http.StatusBadRequest, 160004, "A thread has already been created for this message"))
	}
	t := &Channel{ID: messageID, GuildID: ch.GuildID, Type: ChannelPublicThread, ParentID: channelID, Name: body.Name, OwnerID: BotID}
	s.rest.channels[t.ID] = t
	s.rest.threads[messageID] = t.ID
	return response{status: http.StatusCreated, body: s.channelJSON(t)}
}

// threadWithoutMessage is POST /channels/{id}/threads.
func (s *Server) threadWithoutMessage(c Call, channelID string) response {
	body, e := readThread(c)
	if e != nil {
		return failed(e)
	}
	if body.Type != ChannelPublicThread {
		return failed(invalidForm("type", "The fake makes public threads (type 11) only."))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, e := s.channelLocked(channelID)
	if e != nil {
		return failed(e)
	}
	if ch.Type != ChannelText {
		return failed(apiErr(http.StatusBadRequest, 50024, "Cannot execute action on this channel type"))
	}
	if s.permsLocked(ch).NoCreatePublicThread {
		return failed(missingPermissions())
	}
	t := &Channel{ID: s.newIDLocked(), GuildID: ch.GuildID, Type: ChannelPublicThread, ParentID: channelID, Name: body.Name, OwnerID: BotID}
	s.rest.channels[t.ID] = t
	return response{status: http.StatusCreated, body: s.channelJSON(t)}
}

// listMessages answers GET /channels/{id}/messages as Discord does: at most
// limit (1–100, default 50) messages before, after or around a message ID
// (one of the three at most), newest first; without Read Message History an
// empty list, not an error; ephemeral messages never appear.
func (s *Server) listMessages(c Call, channelID string) response {
	q := c.Query
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return failed(invalidForm("limit", "int value should be less than or equal to 100 and greater than or equal to 1."))
		}
		limit = n
	}
	var anchor string
	var anchorID uint64
	for _, k := range []string{"before", "after", "around"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		if anchor != "" {
			return failed(invalidForm(k, "Only one of around, before and after may be given."))
		}
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return failed(invalidForm(k, fmt.Sprintf("Value %q is not snowflake.", v)))
		}
		anchor, anchorID = k, id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, e := s.channelLocked(channelID)
	if e != nil {
		return failed(e)
	}
	if s.permsLocked(ch).NoReadHistory {
		return ok([]any{})
	}
	var seen []*StoredMessage // oldest first
	for _, id := range s.rest.order {
		if m := s.rest.messages[id]; m != nil && m.ChannelID == channelID && m.Flags&64 == 0 {
			seen = append(seen, m)
		}
	}
	idOf := func(m *StoredMessage) uint64 { n, _ := strconv.ParseUint(m.ID, 10, 64); return n }
	var pick []*StoredMessage
	switch anchor {
	case "after": // the oldest limit messages after the anchor
		for _, m := range seen {
			if idOf(m) > anchorID && len(pick) < limit {
				pick = append(pick, m)
			}
		}
	case "around":
		at := sort.Search(len(seen), func(i int) bool { return idOf(seen[i]) >= anchorID })
		lo := max(0, at-limit/2)
		pick = seen[lo:min(len(seen), lo+limit)]
	default: // before, or the newest
		for i := len(seen) - 1; i >= 0 && len(pick) < limit; i-- {
			if anchor == "" || idOf(seen[i]) < anchorID {
				pick = append(pick, seen[i])
			}
		}
		slices.Reverse(pick)
	}
	out := make([]any, 0, len(pick))
	for i := len(pick) - 1; i >= 0; i-- {
		out = append(out, s.visibleJSON(pick[i]))
	}
	return ok(out)
}
