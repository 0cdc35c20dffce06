package discordtest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// User is a Discord user in a payload.
type User struct {
	ID   string
	Name string
	Bot  bool
}

// Bot is the fake's own bot user, for messages the bot "sent".
var Bot = User{ID: BotID, Name: "verbatim", Bot: true}

func userJSON(u User) map[string]any {
	m := map[string]any{
		"id":            u.ID,
		"username":      u.Name,
		"discriminator": "0",
		"global_name":   u.Name,
		"avatar":        nil,
	}
	if u.Bot {
		m["bot"] = true
	}
	return m
}

func memberJSON(u User, perms int64) map[string]any {
	if perms == 0 {
		perms = MemberPerms
	}
	return map[string]any{
		"user":        userJSON(u),
		"roles":       []string{},
		"joined_at":   "2024-01-02T03:04:05Z",
		"deaf":        false,
		"mute":        false,
		"flags":       0,
		"permissions": fmt.Sprint(perms), // a string, as Discord sends it
	}
}

// Permission bits of app_permissions and member permissions.
const (
	PermAdministrator        = 1 << 3
	PermManageGuild          = 1 << 5 // "Manage Server"
	PermViewChannel          = 1 << 10
	PermSendMessages         = 1 << 11
	PermEmbedLinks           = 1 << 14
	PermReadMessageHistory   = 1 << 16
	PermCreatePublicThreads  = 1 << 35
	PermSendMessagesInThread = 1 << 38
	// AllPerms is what the fake's interactions carry by default.
	AllPerms = 2248473465835073 | PermCreatePublicThreads | PermSendMessagesInThread
	// MemberPerms are an ordinary member's permissions, what the fake's
	// members have by default: neither Administrator nor Manage Server.
	MemberPerms = 2248473465835073
)

// Option is one slash command option value (string, bool, int or float64),
// or a subcommand (Value nil) with its own Options.
type Option struct {
	Name  string
	Value any
	// Focused marks the option being typed, in an autocomplete.
	Focused bool
	// Options are a subcommand's options.
	Options []Option
}

// Slash describes an APPLICATION_COMMAND interaction.
type Slash struct {
	Name    string
	Options []Option
	User    User
	// GuildID "" sends the DM shape: "user" instead of "member", no guild_id.
	GuildID   string
	ChannelID string
	// AppPermissions overrides the app's permissions in the channel
	// (app_permissions); 0 means AllPerms less what the channel's Perms
	// take away.
	AppPermissions int64
	// MemberPermissions are the invoking member's permissions in the
	// channel (member.permissions); 0 means MemberPerms, an ordinary
	// member's. They decide, as on Discord, whether a command registered
	// with default_member_permissions can be used at all.
	MemberPermissions int64
}

// Interaction identifies a dispatched interaction: the bot's responses go to
// /interactions/{ID}/{Token}/callback and /webhooks/{AppID}/{Token}/….
type Interaction struct {
	ID        string
	Token     string
	ChannelID string
}

// CallbackPath is the path of the interaction's initial response.
func (i Interaction) CallbackPath() string {
	return "/interactions/" + i.ID + "/" + i.Token + "/callback"
}

// OriginalPath is the path of edits to the interaction's original response.
func (i Interaction) OriginalPath() string {
	return "/webhooks/" + AppID + "/" + i.Token + "/messages/@original"
}

// FollowupPath is the path follow-up messages are posted to.
func (i Interaction) FollowupPath() string {
	return "/webhooks/" + AppID + "/" + i.Token
}

// Original returns the interaction's original response message (after
// the bot responded), as the fake holds it.
func (s *Server) Original(in Interaction) (StoredMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.rest.interactions[in.Token]
	if !ok || st.original == "" {
		return StoredMessage{}, false
	}
	m, ok := s.rest.messages[st.original]
	if !ok {
		return StoredMessage{}, false
	}
	return *m, true
}

func optionType(v any) (int, error) {
	switch v.(type) {
	case nil:
		return 1, nil // a subcommand
	case string:
		return 3, nil
	case int:
		return 4, nil
	case bool:
		return 5, nil
	case float64:
		return 10, nil
	}
	return 0, fmt.Errorf("option value %v: unsupported type %T", v, v)
}

// ensureChannel registers the channel a dispatched event happens in.
func (s *Server) ensureChannel(channelID, guildID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rest.channels[channelID]; ok {
		return
	}
	typ := ChannelText
	if guildID == "" {
		typ = ChannelDM
	}
	s.rest.channels[channelID] = &Channel{ID: channelID, GuildID: guildID, Type: typ, Name: "channel-" + channelID}
}

// interaction builds an INTERACTION_CREATE payload of type typ around data
// and registers it, so its token answers one initial response.
func (s *Server) interaction(typ int, u User, guildID, channelID string, perms, memberPerms int64, data map[string]any) (Interaction, map[string]any) {
	s.ensureChannel(channelID, guildID)
	in := Interaction{ID: s.NewID(), Token: "itoken-" + s.NewID(), ChannelID: channelID}
	if perms == 0 {
		perms = AllPerms &^ s.missingPerms(channelID)
	}
	p := map[string]any{
		"id":              in.ID,
		"application_id":  AppID,
		"type":            typ,
		"token":           in.Token,
		"version":         1,
		"data":            data,
		"channel_id":      channelID,
		"locale":          "en-US",
		"app_permissions": fmt.Sprint(perms),
		"entitlements":    []any{},
		"authorizing_integration_owners": map[string]string{
			"0": guildID,
		},
	}
	channelType := ChannelText
	if c, ok := s.Channel(channelID); ok {
		channelType = c.Type
	}
	if guildID == "" {
		p["user"] = userJSON(u)
		p["context"] = 1
		p["channel"] = map[string]any{"id": channelID, "type": 1}
		p["authorizing_integration_owners"] = map[string]string{"0": "0"}
	} else {
		p["guild_id"] = guildID
		p["member"] = memberJSON(u, memberPerms)
		p["guild_locale"] = "en-US"
		p["context"] = 0
		p["channel"] = map[string]any{"id": channelID, "type": channelType, "guild_id": guildID, "name": "general"}
	}
	s.mu.Lock()
	s.rest.interactions[in.Token] = &interactionState{id: in.ID, token: in.Token, typ: typ, created: time.Now(), channelID: channelID, guildID: guildID}
	s.mu.Unlock()
	return in, p
}

func optionsJSON(tb testing.TB, opts []Option) []map[string]any {
	out := []map[string]any{}
	for _, o := range opts {
		typ, err := optionType(o.Value)
		if err != nil {
			tb.Fatal(err)
		}
		m := map[string]any{"name": o.Name, "type": typ}
		if typ == 1 {
			m["options"] = optionsJSON(tb, o.Options)
		} else {
			m["value"] = o.Value
		}
		if o.Focused {
			m["focused"] = true
		}
		out = append(out, m)
	}
	return out
}

// SendSlash dispatches a slash command interaction and returns its IDs.
// It fails tb when Discord would not deliver it (see TrySendSlash).
func (s *Server) SendSlash(tb testing.TB, c Slash) Interaction {
	tb.Helper()
	in, err := s.sendCommand(tb, interactionCommand, c)
	if err != nil {
		tb.Fatalf("/%s: %v", c.Name, err)
	}
	return in
}

// TrySendSlash is SendSlash for a use Discord may refuse: when the command
// was registered with contexts that exclude where it is used, or with
// default_member_permissions the member lacks (having every bit named, or
// Administrator; "0" is administrators only), Discord never delivers the
// interaction — the command is not even offered — and neither does the
// fake: it returns ErrNotOffered and dispatches nothing.
func (s *Server) TrySendSlash(tb testing.TB, c Slash) (Interaction, error) {
	tb.Helper()
	return s.sendCommand(tb, interactionCommand, c)
}

// SendAutocomplete dispatches an APPLICATION_COMMAND_AUTOCOMPLETE
// interaction for a slash command (mark the option being typed Focused).
func (s *Server) SendAutocomplete(tb testing.TB, c Slash) Interaction {
	tb.Helper()
	in, err := s.sendCommand(tb, interactionAutocomplete, c)
	if err != nil {
		tb.Fatalf("/%s autocomplete: %v", c.Name, err)
	}
	return in
}

func (s *Server) sendCommand(tb testing.TB, typ int, c Slash) (Interaction, error) {
	tb.Helper()
	if c.ChannelID == "" {
		c.ChannelID = ChannelID
	}
	if err := s.offered(c); err != nil {
		return Interaction{}, err
	}
	data := map[string]any{"id": s.NewID(), "name": c.Name, "type": 1, "options": optionsJSON(tb, c.Options)}
	in, p := s.interaction(typ, c.User, c.GuildID, c.ChannelID, c.AppPermissions, c.MemberPermissions, data)
	s.Dispatch(tb, "INTERACTION_CREATE", p)
	return in, nil
}

// MessageCommand describes a message context-menu command (type 3) used
// on a message the fake holds.
type MessageCommand struct {
	Name      string
	TargetID  string // the message it was used on
	User      User
	GuildID   string
	ChannelID string
}

// SendMessageCommand dispatches a message context-menu command. The target
// message arrives whole in resolved.messages: the Message Content rule does
// not strip the content of a context-menu target.
func (s *Server) SendMessageCommand(tb testing.TB, c MessageCommand) Interaction {
	tb.Helper()
	if c.ChannelID == "" {
		c.ChannelID = ChannelID
	}
	s.mu.Lock()
	target, ok := s.rest.messages[c.TargetID]
	var targetJSON map[string]any
	if ok {
		targetJSON = s.messageJSON(target)
	}
	s.mu.Unlock()
	if !ok {
		tb.Fatalf("message command on unknown message %s", c.TargetID)
	}
	data := map[string]any{
		"id": s.NewID(), "name": c.Name, "type": 3, "target_id": c.TargetID,
		"resolved": map[string]any{"messages": map[string]any{c.TargetID: targetJSON}},
	}
	in, p := s.interaction(interactionCommand, c.User, c.GuildID, c.ChannelID, 0, 0, data)
	s.Dispatch(tb, "INTERACTION_CREATE", p)
	return in
}

// Click describes a button press (MESSAGE_COMPONENT interaction).
type Click struct {
	CustomID  string
	User      User
	GuildID   string // "" for a DM
	ChannelID string
	// MessageID is the message carrying the button: one the fake holds
	// (its embeds are sent along), or a fresh ID.
	MessageID string
}

// SendClick dispatches a button click and returns its IDs.
func (s *Server) SendClick(tb testing.TB, c Click) Interaction {
	tb.Helper()
	if c.ChannelID == "" {
		c.ChannelID = ChannelID
	}
	s.mu.Lock()
	var msg map[string]any
	if m, ok := s.rest.messages[c.MessageID]; ok {
		msg = s.messageJSON(m)
		c.ChannelID = m.ChannelID
	}
	s.mu.Unlock()
	if c.MessageID == "" {
		c.MessageID = s.NewID()
	}
	if msg == nil {
		msg = map[string]any{
			"id":         c.MessageID,
			"channel_id": c.ChannelID,
			"type":       0,
			"content":    "",
			"author":     userJSON(Bot),
			"timestamp":  time.Now().UTC().Format(time.RFC3339),
			"embeds":     []any{},
			"mentions":   []any{},
			"flags":      0,
			"components": []any{map[string]any{"type": 1, "components": []any{
				map[string]any{"type": 2, "style": 2, "label": "button", "custom_id": c.CustomID},
			}}},
		}
	}
	data := map[string]any{"custom_id": c.CustomID, "component_type": 2}
	in, p := s.interaction(interactionComponent, c.User, c.GuildID, c.ChannelID, 0, 0, data)
	p["message"] = msg
	s.mu.Lock()
	s.rest.interactions[in.Token].componentMsg = c.MessageID
	s.mu.Unlock()
	s.Dispatch(tb, "INTERACTION_CREATE", p)
	return in
}

// Message describes a MESSAGE_CREATE.
type Message struct {
	Content string
	Author  User
	// GuildID "" makes it a DM (no guild_id, no member).
	GuildID   string
	ChannelID string
	Mentions  []User
	// MentionRoles are role IDs mentioned (<@&id> in Content).
	MentionRoles []string
	// ReplyTo is the ID of a message (one the fake holds) this replies to.
	ReplyTo string
}

// Sent identifies a dispatched message.
type Sent struct {
	ID        string
	ChannelID string
	GuildID   string
}

// contentVisible reports whether the bot, without the Message Content
// intent, sees the content of a message: in DMs, its own, and ones that
// mention it.
func (s *Server) contentVisible(m Message) bool {
	if m.GuildID == "" || m.Author.ID == BotID {
		return true
	}
	for _, u := range m.Mentions {
		if u.ID == BotID {
			return true
		}
	}
	s.mu.Lock()
	roleContent := s.rest.roleContent
	s.mu.Unlock()
	if roleContent {
		for _, r := range m.MentionRoles {
			if r == BotRoleID {
				return true
			}
		}
	}
	return false
}

// SendMessage dispatches a MESSAGE_CREATE and returns its IDs. A guild
// message that does not mention the bot arrives with empty content, embeds
// and components, as it does for a bot without the Message Content intent.
func (s *Server) SendMessage(tb testing.TB, m Message) Sent {
	tb.Helper()
	if m.ChannelID == "" {
		m.ChannelID = s.NewID()
		if m.GuildID != "" {
			m.ChannelID = ChannelID
		}
	}
	s.ensureChannel(m.ChannelID, m.GuildID)
	mentions := []any{}
	for _, u := range m.Mentions {
		mentions = append(mentions, userJSON(u))
	}
	roles := m.MentionRoles
	if roles == nil {
		roles = []string{}
	}
	id := s.NewID()
	s.mu.Lock()
	s.storeLocked(&StoredMessage{ID: id, ChannelID: m.ChannelID, AuthorID: m.Author.ID, Content: m.Content, Created: time.Now(), ReplyTo: m.ReplyTo})
	s.mu.Unlock()
	content := m.Content
	if !s.contentVisible(m) {
		content = ""
	}
	p := map[string]any{
		"id":               id,
		"channel_id":       m.ChannelID,
		"type":             0,
		"content":          content,
		"author":           userJSON(m.Author),
		"timestamp":        time.Now().UTC().Format(time.RFC3339),
		"edited_timestamp": nil,
		"tts":              false,
		"mention_everyone": false,
		"mentions":         mentions,
		"mention_roles":    roles,
		"attachments":      []any{},
		"embeds":           []any{},
		"components":       []any{},
		"pinned":           false,
		"flags":            0,
	}
	if m.ReplyTo != "" {
		s.mu.Lock()
		ref, ok := s.rest.messages[m.ReplyTo]
		var refJSON map[string]any
		if ok {
			refJSON = s.visibleJSON(ref)
		}
		s.mu.Unlock()
		if !ok {
			tb.Fatalf("reply to unknown message %s", m.ReplyTo)
		}
		p["type"] = 19
		p["message_reference"] = map[string]any{"type": 0, "message_id": m.ReplyTo, "channel_id": m.ChannelID, "guild_id": m.GuildID}
		p["referenced_message"] = refJSON
	}
	if m.GuildID != "" {
		p["guild_id"] = m.GuildID
		member := memberJSON(m.Author, 0)
		delete(member, "user") // MESSAGE_CREATE members are partial: no user
		delete(member, "permissions")
		p["member"] = member
	}
	s.Dispatch(tb, "MESSAGE_CREATE", p)
	return Sent{ID: id, ChannelID: m.ChannelID, GuildID: m.GuildID}
}

// SendDM dispatches a direct message from u to the bot in channelID (a fresh
// channel when empty).
func (s *Server) SendDM(tb testing.TB, u User, channelID, content string) Sent {
	tb.Helper()
	return s.SendMessage(tb, Message{Content: content, Author: u, ChannelID: channelID})
}

// SendMention dispatches a guild message from u that starts with the bot's
// mention ("<@BOTID> text") and lists the bot in mentions.
func (s *Server) SendMention(tb testing.TB, u User, text string) Sent {
	tb.Helper()
	return s.SendMessage(tb, Message{
		Content:  "<@" + BotID + "> " + text,
		Author:   u,
		GuildID:  GuildID,
		Mentions: []User{Bot},
	})
}

// MentionIn is SendMention in another channel (a thread, say).
func (s *Server) MentionIn(tb testing.TB, u User, channelID, text string) Sent {
	tb.Helper()
	guild := GuildID
	if c, ok := s.Channel(channelID); ok {
		guild = c.GuildID
	}
	return s.SendMessage(tb, Message{
		Content:   "<@" + BotID + "> " + strings.TrimSpace(text),
		Author:    u,
		GuildID:   guild,
		ChannelID: channelID,
		Mentions:  []User{Bot},
	})
}

// missingPerms are the permission bits the channel's Perms take away, so
// that an interaction's app_permissions say what the channel allows, as
// Discord's do.
func (s *Server) missingPerms(channelID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.rest.channels[channelID]
	if !ok {
		return 0
	}
	p := s.permsLocked(c)
	var bits int64
	for _, m := range []struct {
		missing bool
		bit     int64
	}{
		{p.NoView, PermViewChannel}, {p.NoSend, PermSendMessages}, {p.NoEmbedLinks, PermEmbedLinks},
		{p.NoReadHistory, PermReadMessageHistory}, {p.NoCreatePublicThread, PermCreatePublicThreads},
		{p.NoSendInThreads, PermSendMessagesInThread},
	} {
		if m.missing {
			bits |= m.bit
		}
	}
	return bits
}
