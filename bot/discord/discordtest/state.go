package discordtest

import (
	"encoding/json"
	"net/http"
	"time"
)

// Channel types the fake knows.
const (
	ChannelText         = 0
	ChannelDM           = 1
	ChannelPublicThread = 11
)

// Channel is a channel of the fake, with the bot's permissions in it. The
// zero Perms allow everything.
type Channel struct {
	ID       string
	GuildID  string // "" for a DM
	Type     int
	ParentID string // for threads: the channel it was started in
	Name     string
	OwnerID  string // for threads: who started it
	Perms    Perms
}

// Perms are the bot's missing permissions in a channel (the zero value is
// every permission a bot needs). A thread has its parent's.
type Perms struct {
	NoView               bool // VIEW_CHANNEL: every call gets 403 50001
	NoSend               bool // SEND_MESSAGES (and typing)
	NoEmbedLinks         bool // EMBED_LINKS: embed-only messages get 403 50013, others lose their embeds
	NoReadHistory        bool // READ_MESSAGE_HISTORY: replies and threads from messages fail
	NoCreatePublicThread bool // CREATE_PUBLIC_THREADS
	NoSendInThreads      bool // SEND_MESSAGES_IN_THREADS
}

// StoredMessage is a message the fake holds: sent by the bot (through a channel,
// a webhook or an interaction response) or dispatched as a user's.
type StoredMessage struct {
	ID        string
	ChannelID string
	AuthorID  string
	Content   string
	// Embeds and Components are the JSON the bot sent.
	Embeds     []embedBody
	Components []json.RawMessage
	Flags      int
	Nonce      string
	// Interaction is the token of the interaction whose response or
	// follow-up this is.
	Interaction string
	ReplyTo     string
	Created     time.Time
	Edits       int
}

type interactionState struct {
	id, token    string
	typ          int // 2 command, 3 component, 4 autocomplete
	created      time.Time
	acked        bool
	ackType      int
	ephemeral    bool
	original     string // message ID of @original
	channelID    string
	guildID      string
	componentMsg string // the message a component interaction was on
}

type restState struct {
	channels     map[string]*Channel
	messages     map[string]*StoredMessage
	order        []string // message IDs, oldest first
	interactions map[string]*interactionState
	nonces       map[string]string // author+channel+nonce → message ID
	threads      map[string]string // message ID → thread started from it
	revoked      bool
	invalid      int
	roleContent  bool
	limits       []*routeLimit
	limited      []*rateLimitRule
	globalUntil  time.Time
	buckets      map[string]*bucketState
	// commands are the registered commands by scope ("global" or a guild
	// ID), then by name: each bulk overwrite replaces its scope's.
	commands map[string]map[string]CommandJSON
}

func (r *restState) init() {
	r.channels = map[string]*Channel{
		ChannelID: {ID: ChannelID, GuildID: GuildID, Type: ChannelText, Name: "general"},
	}
	r.messages = map[string]*StoredMessage{}
	r.interactions = map[string]*interactionState{}
	r.nonces = map[string]string{}
	r.threads = map[string]string{}
	r.buckets = map[string]*bucketState{}
	r.commands = map[string]map[string]CommandJSON{}
}

// AddChannel adds (or replaces) a channel.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := c
	s.rest.channels[c.ID] = &cc
}

// SetPerms changes the bot's permissions in a channel (and its threads).
func (s *Server) SetPerms(channelID string, p Perms) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.rest.channels[channelID]; ok {
		c.Perms = p
	}
}

// DeleteChannel removes a channel: calls to it get 404 10003.
func (s *Server) DeleteChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rest.channels, id)
}

// Channel returns a channel of the fake.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.rest.channels[id]
	if !ok {
		return Channel{}, false
	}
	return *c, true
}

// Messages returns the messages in a channel, oldest first.
func (s *Server) Messages(channelID string) []StoredMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StoredMessage
	for _, id := range s.rest.order {
		if m := s.rest.messages[id]; m != nil && m.ChannelID == channelID {
			out = append(out, *m)
		}
	}
	return out
}

// Message returns a message the fake holds, by ID.
func (s *Server) Message(id string) (StoredMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.rest.messages[id]
	if !ok {
		return StoredMessage{}, false
	}
	return *m, true
}

// RevokeToken invalidates the bot token, as resetting it in the developer
// portal does: REST calls get 401, the gateway closes with 4004 and every
// IDENTIFY or RESUME after that is refused with 4004.
func (s *Server) RevokeToken() {
	s.mu.Lock()
	s.rest.revoked = true
	s.gw.fatal = 4004
	s.mu.Unlock()
	s.CloseConnections(4004, "Authentication failed.")
}

// InvalidRequests counts the answers Discord counts against its limit of
// 10,000 invalid requests per 10 minutes: 401, 403 and 429 (but not 429s
// of scope "shared").
func (s *Server) InvalidRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rest.invalid
}

// ContentForRoleMentions makes guild messages that mention the bot's
// managed role (and not the bot) arrive with their content. Off by default:
// whether Discord counts a role mention as mentioning the app for the
// Message Content rule is not documented, so the fake assumes the stricter.
func (s *Server) ContentForRoleMentions(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rest.roleContent = on
}

// AgeInteraction makes an interaction d older than it is (to test the
// 3-second and 15-minute limits without waiting).
func (s *Server) AgeInteraction(in Interaction, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.rest.interactions[in.Token]; ok {
		st.created = st.created.Add(-d)
	}
}

// channelLocked finds a channel, answering 404 10003 for an unknown one and
// 403 50001 for one the bot cannot see.
func (s *Server) channelLocked(id string) (*Channel, *apiError) {
	c, ok := s.rest.channels[id]
	if !ok {
		return nil, apiErr(http.StatusNotFound, 10003, "Unknown Channel")
	}
	if s.permsLocked(c).NoView {
		return nil, apiErr(http.StatusForbidden, 50001, "Missing Access")
	}
	return c, nil
}

// permsLocked is the bot's permissions in c (a thread's are its parent's).
func (s *Server) permsLocked(c *Channel) Perms {
	if c.Type == ChannelPublicThread {
		if p, ok := s.rest.channels[c.ParentID]; ok {
			return p.Perms
		}
	}
	return c.Perms
}

func missingPermissions() *apiError {
	return apiErr(http.StatusForbidden, 50013, "Missing Permissions")
}

func (s *Server) storeLocked(m *StoredMessage) {
	s.rest.messages[m.ID] = m
	s.rest.order = append(s.rest.order, m.ID)
}

// messageJSON is m as Discord answers it.
func (s *Server) messageJSON(m *StoredMessage) map[string]any {
	embeds := m.Embeds
	if embeds == nil {
		embeds = []embedBody{}
	}
	author := userJSON(Bot)
	if m.AuthorID != BotID {
		author = userJSON(User{ID: m.AuthorID, Name: "user" + m.AuthorID})
	}
	out := map[string]any{
		"id":               m.ID,
		"channel_id":       m.ChannelID,
		"type":             0,
		"content":          m.Content,
		"author":           author,
		"timestamp":        m.Created.UTC().Format(time.RFC3339),
		"edited_timestamp": nil,
		"tts":              false,
		"mention_everyone": false,
		"flags":            m.Flags,
		"mentions":         []any{},
		"mention_roles":    []string{},
		"attachments":      []any{},
		"embeds":           embeds,
		"pinned":           false,
	}
	if m.Components != nil {
		out["components"] = m.Components
	} else {
		out["components"] = []any{}
	}
	if c, ok := s.rest.channels[m.ChannelID]; ok && c.GuildID != "" {
		out["guild_id"] = c.GuildID
	}
	if m.Interaction != "" {
		out["webhook_id"] = AppID
		out["application_id"] = AppID
	}
	if m.Nonce != "" {
		out["nonce"] = m.Nonce
	}
	if m.ReplyTo != "" {
		out["type"] = 19
		out["message_reference"] = map[string]any{"type": 0, "message_id": m.ReplyTo, "channel_id": m.ChannelID}
	}
	return out
}

func (s *Server) channelJSON(c *Channel) map[string]any {
	out := map[string]any{"id": c.ID, "type": c.Type, "name": c.Name, "flags": 0}
	if c.GuildID != "" {
		out["guild_id"] = c.GuildID
	}
	if c.ParentID != "" {
		out["parent_id"] = c.ParentID
	}
	if c.Type == ChannelPublicThread {
		out["owner_id"] = c.OwnerID
		out["thread_metadata"] = map[string]any{"archived": false, "auto_archive_duration": 1440, "locked": false,
			"archive_timestamp": time.Now().UTC().Format(time.RFC3339)}
		out["message_count"] = 0
		out["member_count"] = 1
	}
	if c.Type == ChannelDM {
		out["recipients"] = []any{}
	}
	return out
}

func (s *Server) getChannel(id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.channelLocked(id)
	if e != nil {
		return failed(e)
	}
	return ok(s.channelJSON(c))
}

func (s *Server) guildRoles(guildID string) response {
	s.mu.Lock()
	known := s.knownGuildLocked(guildID)
	s.mu.Unlock()
	if !known {
		return failed(apiErr(http.StatusNotFound, 10004, "Unknown Guild"))
	}
	role := func(id, name string, tags map[string]any) map[string]any {
		r := map[string]any{"id": id, "name": name, "color": 0, "hoist": false, "position": 1,
			"permissions": "0", "managed": tags != nil, "mentionable": true, "flags": 0}
		if tags != nil {
			r["tags"] = tags
		}
		return r
	}
	return ok([]any{
		role(guildID, "@everyone", nil),
		role(BotRoleID, "verbatim", map[string]any{"bot_id": BotID}),
	})
}

func (s *Server) createDM(c Call) response {
	var req struct {
		RecipientID string `json:"recipient_id"`
	}
	if e := decodeBody(c, &req); e != nil {
		return failed(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked()
	s.rest.channels[id] = &Channel{ID: id, Type: ChannelDM}
	out := s.channelJSON(s.rest.channels[id])
	out["recipients"] = []any{userJSON(User{ID: req.RecipientID, Name: "user" + req.RecipientID})}
	return ok(out)
}

func (s *Server) typing(channelID string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.channelLocked(channelID)
	if e != nil {
		return failed(e)
	}
	if e := s.sendPermLocked(c); e != nil {
		return failed(e)
	}
	return noContent()
}

// sendPermLocked is 403 50013 when the bot may not post in c.
func (s *Server) sendPermLocked(c *Channel) *apiError {
	p := s.permsLocked(c)
	if c.Type == ChannelPublicThread && p.NoSendInThreads || c.Type != ChannelPublicThread && p.NoSend {
		return missingPermissions()
	}
	return nil
}
