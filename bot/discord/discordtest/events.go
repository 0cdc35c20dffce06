package discordtest

import (
	"fmt"
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

func memberJSON(u User) map[string]any {
	return map[string]any{
		"user":        userJSON(u),
		"roles":       []string{},
		"joined_at":   "2024-01-02T03:04:05Z",
		"deaf":        false,
		"mute":        false,
		"flags":       0,
		"permissions": "2248473465835073", // a string, as Discord sends it
	}
}

// Option is one slash command option value (string, bool, int or float64).
type Option struct {
	Name  string
	Value any
}

// Slash describes an APPLICATION_COMMAND interaction.
type Slash struct {
	Name    string
	Options []Option
	User    User
	// GuildID "" sends the DM shape: "user" instead of "member", no guild_id.
	GuildID   string
	ChannelID string
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

func optionType(v any) (int, error) {
	switch v.(type) {
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

// interaction builds an INTERACTION_CREATE payload of type typ around data.
func (s *Server) interaction(typ int, u User, guildID, channelID string, data map[string]any) (Interaction, map[string]any) {
	in := Interaction{ID: s.NewID(), Token: "itoken-" + s.NewID(), ChannelID: channelID}
	p := map[string]any{
		"id":              in.ID,
		"application_id":  AppID,
		"type":            typ,
		"token":           in.Token,
		"version":         1,
		"data":            data,
		"channel_id":      channelID,
		"locale":          "en-US",
		"app_permissions": "2248473465835073",
		"entitlements":    []any{},
		"authorizing_integration_owners": map[string]string{
			"0": guildID,
		},
	}
	if guildID == "" {
		p["user"] = userJSON(u)
		p["context"] = 1
		p["channel"] = map[string]any{"id": channelID, "type": 1}
		p["authorizing_integration_owners"] = map[string]string{"1": u.ID}
	} else {
		p["guild_id"] = guildID
		p["member"] = memberJSON(u)
		p["guild_locale"] = "en-US"
		p["context"] = 0
		p["channel"] = map[string]any{"id": channelID, "type": 0, "guild_id": guildID, "name": "general"}
	}
	return in, p
}

// SendSlash dispatches a slash command interaction and returns its IDs.
func (s *Server) SendSlash(tb testing.TB, c Slash) Interaction {
	tb.Helper()
	if c.ChannelID == "" {
		c.ChannelID = ChannelID
	}
	opts := []map[string]any{}
	for _, o := range c.Options {
		typ, err := optionType(o.Value)
		if err != nil {
			tb.Fatal(err)
		}
		opts = append(opts, map[string]any{"name": o.Name, "type": typ, "value": o.Value})
	}
	data := map[string]any{"id": s.NewID(), "name": c.Name, "type": 1, "options": opts}
	in, p := s.interaction(2, c.User, c.GuildID, c.ChannelID, data)
	s.Dispatch(tb, "INTERACTION_CREATE", p)
	return in
}

// Click describes a button press (MESSAGE_COMPONENT interaction).
type Click struct {
	CustomID  string
	User      User
	GuildID   string // "" for a DM
	ChannelID string
	// MessageID is the message carrying the button.
	MessageID string
}

// SendClick dispatches a button click and returns its IDs.
func (s *Server) SendClick(tb testing.TB, c Click) Interaction {
	tb.Helper()
	if c.ChannelID == "" {
		c.ChannelID = ChannelID
	}
	if c.MessageID == "" {
		c.MessageID = s.NewID()
	}
	data := map[string]any{"custom_id": c.CustomID, "component_type": 2}
	in, p := s.interaction(3, c.User, c.GuildID, c.ChannelID, data)
	p["message"] = map[string]any{
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
}

// Sent identifies a dispatched message.
type Sent struct {
	ID        string
	ChannelID string
	GuildID   string
}

// SendMessage dispatches a MESSAGE_CREATE and returns its IDs.
func (s *Server) SendMessage(tb testing.TB, m Message) Sent {
	tb.Helper()
	if m.ChannelID == "" {
		m.ChannelID = s.NewID()
		if m.GuildID != "" {
			m.ChannelID = ChannelID
		}
	}
	mentions := []any{}
	for _, u := range m.Mentions {
		mentions = append(mentions, userJSON(u))
	}
	id := s.NewID()
	p := map[string]any{
		"id":               id,
		"channel_id":       m.ChannelID,
		"type":             0,
		"content":          m.Content,
		"author":           userJSON(m.Author),
		"timestamp":        time.Now().UTC().Format(time.RFC3339),
		"edited_timestamp": nil,
		"tts":              false,
		"mention_everyone": false,
		"mentions":         mentions,
		"mention_roles":    []string{},
		"attachments":      []any{},
		"embeds":           []any{},
		"pinned":           false,
		"flags":            0,
	}
	if m.GuildID != "" {
		p["guild_id"] = m.GuildID
		member := memberJSON(m.Author)
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
