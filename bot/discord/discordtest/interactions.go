package discordtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Interaction callback types.
const (
	callbackMessage         = 4
	callbackDeferredMessage = 5
	callbackDeferredUpdate  = 6
	callbackUpdateMessage   = 7
	callbackAutocomplete    = 8
	callbackModal           = 9
)

// Interaction types.
const (
	interactionCommand      = 2
	interactionComponent    = 3
	interactionAutocomplete = 4
)

const flagEphemeral = 64

func unknownInteraction() *apiError {
	return apiErr(http.StatusNotFound, 10062, "Unknown interaction")
}

// interactionCallback is POST /interactions/{id}/{token}/callback: one
// initial response, within AckDeadline, of a type that suits the
// interaction.
func (s *Server) interactionCallback(c Call, id, token string) response {
	var req struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if e := decodeBody(c, &req); e != nil {
		return failed(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, known := s.rest.interactions[token]
	if !known || in.id != id {
		return failed(unknownInteraction())
	}
	if in.acked {
		return failed(apiErr(http.StatusBadRequest, 40060, "Interaction has already been acknowledged."))
	}
	if time.Since(in.created) > AckDeadline {
		return failed(unknownInteraction()) // the token was invalidated
	}
	allowed := map[int][]int{
		interactionCommand:      {callbackMessage, callbackDeferredMessage, callbackModal},
		interactionComponent:    {callbackMessage, callbackDeferredMessage, callbackDeferredUpdate, callbackUpdateMessage, callbackModal},
		interactionAutocomplete: {callbackAutocomplete},
	}[in.typ]
	valid := false
	for _, t := range allowed {
		valid = valid || t == req.Type
	}
	if !valid {
		return failed(apiErr(http.StatusBadRequest, 40043, fmt.Sprintf("Interaction callback type %d is not valid for interaction type %d", req.Type, in.typ)))
	}
	var body messageBody
	if len(req.Data) > 0 && string(req.Data) != "null" && req.Type != callbackAutocomplete {
		if err := json.Unmarshal(req.Data, &body); err != nil {
			return failed(invalidForm("data", err.Error()))
		}
		if e := validateMessage(body); e != nil {
			return failed(e)
		}
	}
	flags := 0
	if body.Flags != nil {
		flags = *body.Flags
	}
	switch req.Type {
	case callbackMessage:
		if flags&^(4|flagEphemeral|4096|32768) != 0 {
			return failed(invalidForm("data.flags", "Invalid flags"))
		}
		m := &StoredMessage{ChannelID: in.channelID, AuthorID: BotID, Flags: flags, Interaction: token, Created: time.Now()}
		if e := applyEdit(m, body); e != nil {
			return failed(e)
		}
		m.Edits = 0
		m.ID = s.newIDLocked()
		s.storeLocked(m)
		in.original = m.ID
		in.ephemeral = flags&flagEphemeral != 0
	case callbackDeferredMessage:
		if flags&^flagEphemeral != 0 {
			return failed(invalidForm("data.flags", "Only EPHEMERAL may be set on a deferred response"))
		}
		m := &StoredMessage{ChannelID: in.channelID, AuthorID: BotID, Flags: flags | 128, Interaction: token, Created: time.Now()} // 128: LOADING
		m.ID = s.newIDLocked()
		s.storeLocked(m)
		in.original = m.ID
		in.ephemeral = flags&flagEphemeral != 0
	case callbackDeferredUpdate, callbackUpdateMessage:
		in.original = in.componentMsg
		if req.Type == callbackUpdateMessage {
			m, ok := s.rest.messages[in.componentMsg]
			if !ok {
				return failed(apiErr(http.StatusNotFound, 10008, "Unknown Message"))
			}
			if e := applyEdit(m, body); e != nil {
				return failed(e)
			}
		}
	case callbackAutocomplete:
		if e := validateChoices(req.Data); e != nil {
			return failed(e)
		}
	}
	in.acked = true
	in.ackType = req.Type
	return noContent()
}

// validateChoices checks an autocomplete result: at most 25 choices, names
// of 1–100 characters, string values of at most 100.
func validateChoices(raw json.RawMessage) *apiError {
	var d struct {
		Choices *[]struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &d); err != nil || d.Choices == nil {
		return invalidForm("data.choices", "This field is required")
	}
	if len(*d.Choices) > 25 {
		return invalidForm("data.choices", "Must be 25 or fewer in length.")
	}
	for i, ch := range *d.Choices {
		if n := textLen(ch.Name); n < 1 || n > 100 {
			return invalidForm(fmt.Sprintf("data.choices.%d.name", i), "Must be between 1 and 100 in length.")
		}
		var v string
		if json.Unmarshal(ch.Value, &v) == nil && textLen(v) > 100 {
			return invalidForm(fmt.Sprintf("data.choices.%d.value", i), "Must be 100 or fewer in length.")
		}
	}
	return nil
}

// interactionLocked finds the interaction of a webhook token still valid
// for edits and follow-ups.
func (s *Server) interactionLocked(app, token string) (*interactionState, *apiError) {
	in, known := s.rest.interactions[token]
	if !known || app != AppID {
		return nil, apiErr(http.StatusNotFound, 10015, "Unknown Webhook")
	}
	if time.Since(in.created) > TokenLifetime {
		return nil, apiErr(http.StatusUnauthorized, 50027, "Invalid Webhook Token")
	}
	if !in.acked {
		return nil, apiErr(http.StatusNotFound, 10015, "Unknown Webhook")
	}
	return in, nil
}

// webhookMessage is GET, PATCH and DELETE /webhooks/{app}/{token}/messages/{id}.
func (s *Server) webhookMessage(c Call, app, token, messageID string) response {
	var body messageBody
	if c.Method == "PATCH" {
		var e *apiError
		if body, e = readMessage(c); e != nil {
			return failed(e)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, e := s.interactionLocked(app, token)
	if e != nil {
		return failed(e)
	}
	if messageID == "@original" {
		messageID = in.original
	}
	m, known := s.rest.messages[messageID]
	if !known || messageID == "" || (m.Interaction != token && messageID != in.componentMsg) {
		return failed(apiErr(http.StatusNotFound, 10008, "Unknown Message"))
	}
	switch c.Method {
	case "GET":
		return ok(s.messageJSON(m))
	case "DELETE":
		delete(s.rest.messages, messageID)
		return noContent()
	}
	if e := applyEdit(m, body); e != nil {
		return failed(e)
	}
	m.Flags &^= 128 // no longer loading
	return ok(s.messageJSON(m))
}

// followup is POST /webhooks/{app}/{token}.
func (s *Server) followup(c Call, app, token string) response {
	body, e := readMessage(c)
	if e != nil {
		return failed(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, e := s.interactionLocked(app, token)
	if e != nil {
		return failed(e)
	}
	m := &StoredMessage{ChannelID: in.channelID, AuthorID: BotID, Interaction: token, Created: time.Now()}
	if body.Flags != nil {
		m.Flags = *body.Flags
	}
	if e := applyEdit(m, body); e != nil {
		return failed(e)
	}
	m.Edits = 0
	m.ID = s.newIDLocked()
	s.storeLocked(m)
	if c.Query.Get("wait") != "true" {
		return noContent()
	}
	return ok(s.messageJSON(m))
}

// Command names of chat input commands: lowercase, 1–32, no spaces.
var chatName = regexp.MustCompile(`^[-_'\p{Ll}\p{Lo}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// CommandJSON is a registered application command as the bot sent it.
type CommandJSON struct {
	Type                     int              `json:"type"`
	Name                     string           `json:"name"`
	Description              string           `json:"description"`
	Options                  []map[string]any `json:"options"`
	DefaultMemberPermissions *string          `json:"default_member_permissions"`
	Contexts                 []int            `json:"contexts"`
	IntegrationTypes         []int            `json:"integration_types"`
}

func validateCommand(cmd CommandJSON) string {
	typ := cmd.Type
	if typ == 0 {
		typ = 1
	}
	switch typ {
	case 1:
		if !chatName.MatchString(cmd.Name) {
			return fmt.Sprintf("name %q: chat commands need a lowercase name of 1–32 characters without spaces", cmd.Name)
		}
		if n := utf8.RuneCountInString(cmd.Description); n < 1 || n > 100 {
			return fmt.Sprintf("%s: description must be 1–100 characters", cmd.Name)
		}
	case 2, 3:
		if n := utf8.RuneCountInString(cmd.Name); n < 1 || n > 32 {
			return fmt.Sprintf("name %q: must be 1–32 characters", cmd.Name)
		}
		if cmd.Description != "" || len(cmd.Options) > 0 {
			return fmt.Sprintf("%s: user and message commands take no description or options", cmd.Name)
		}
	default:
		return fmt.Sprintf("%s: unknown command type %d", cmd.Name, cmd.Type)
	}
	if cmd.DefaultMemberPermissions != nil {
		if _, err := strconv.ParseUint(*cmd.DefaultMemberPermissions, 10, 64); err != nil {
			return fmt.Sprintf("%s: default_member_permissions %q is not a permission bit set", cmd.Name, *cmd.DefaultMemberPermissions)
		}
	}
	for _, c := range cmd.Contexts {
		if c < 0 || c > 2 {
			return fmt.Sprintf("%s: unknown context %d", cmd.Name, c)
		}
	}
	if len(cmd.Options) > 25 {
		return cmd.Name + ": more than 25 options"
	}
	optional := false
	for _, o := range cmd.Options {
		name, _ := o["name"].(string)
		desc, _ := o["description"].(string)
		if !chatName.MatchString(name) {
			return fmt.Sprintf("%s: option name %q is not valid", cmd.Name, name)
		}
		if n := utf8.RuneCountInString(desc); n < 1 || n > 100 {
			return fmt.Sprintf("%s %s: description must be 1–100 characters", cmd.Name, name)
		}
		required, _ := o["required"].(bool)
		if required && optional {
			return fmt.Sprintf("%s: required option %s after an optional one", cmd.Name, name)
		}
		optional = optional || !required
		if ml, ok := o["max_length"].(float64); ok && (ml < 1 || ml > 6000) {
			return fmt.Sprintf("%s %s: max_length %v out of 1–6000", cmd.Name, name, ml)
		}
		if ac, _ := o["autocomplete"].(bool); ac {
			if ch, ok := o["choices"].([]any); ok && len(ch) > 0 {
				return fmt.Sprintf("%s %s: autocomplete cannot have choices", cmd.Name, name)
			}
		}
	}
	return ""
}

// putCommands is the bulk overwrite of global or guild commands.
func (s *Server) putCommands(c Call, p []string) response {
	var cmds []CommandJSON
	if e := decodeBody(c, &cmds); e != nil {
		return failed(e)
	}
	var raw []map[string]any
	_ = json.Unmarshal(c.Body, &raw)
	if len(cmds) > 100 {
		return failed(invalidForm("_", "Must be 100 or fewer in length."))
	}
	seen := map[string]bool{}
	for i, cmd := range cmds {
		if msg := validateCommand(cmd); msg != "" {
			return failed(invalidForm(strconv.Itoa(i), msg))
		}
		key := strconv.Itoa(cmd.Type) + "/" + strings.ToLower(cmd.Name)
		if seen[key] {
			return failed(invalidForm(strconv.Itoa(i), "Application command names must be unique"))
		}
		seen[key] = true
	}
	scope := "global"
	if len(p) == 5 {
		scope = p[3]
	}
	byName := map[string]CommandJSON{}
	for _, cmd := range cmds {
		if cmd.Type == 0 || cmd.Type == 1 {
			byName[cmd.Name] = cmd
		}
	}
	s.mu.Lock()
	s.rest.commands[scope] = byName
	s.mu.Unlock()
	for _, cmd := range raw {
		cmd["id"] = s.NewID()
		cmd["application_id"] = p[1]
		cmd["version"] = s.NewID()
		if len(p) == 5 {
			cmd["guild_id"] = p[3]
		}
	}
	return ok(raw)
}

// ErrNotOffered is why TrySendSlash dispatched nothing: Discord does not
// offer the command to that user there.
var ErrNotOffered = errors.New("discordtest: Discord does not offer this command here")

// Contexts of a command (its "contexts" field).
const (
	contextGuild = 0
	contextBotDM = 1
)

// offered checks, as Discord does before it delivers a chat command, that
// a registered command may be used where and by whom c says: its contexts
// must include the guild or DM it is used in, and in a guild the member
// must have every permission of its default_member_permissions (or be an
// administrator; "0" leaves it to administrators). A command not
// registered is let through (tests may send one before registering), and a
// guild's command in a DM is judged by its contexts (Discord would not
// offer it at all; the tests register in one guild and ask in DMs).
func (s *Server) offered(c Slash) error {
	s.mu.Lock()
	cmd, ok := s.rest.commands["global"][c.Name]
	if c.GuildID != "" {
		if g, in := s.rest.commands[c.GuildID][c.Name]; in {
			cmd, ok = g, true
		}
	}
	for _, cmds := range s.rest.commands {
		if g, in := cmds[c.Name]; in && !ok && c.GuildID == "" {
			// Lenient where Discord is not: a guild's command used in a DM
			// (tests register in one guild) is judged by its contexts.
			cmd, ok = g, true
		}
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	where := contextGuild
	if c.GuildID == "" {
		where = contextBotDM
	}
	if len(cmd.Contexts) > 0 && !slices.Contains(cmd.Contexts, where) {
		return fmt.Errorf("%w: /%s is registered for contexts %v, used in context %d", ErrNotOffered, c.Name, cmd.Contexts, where)
	}
	if cmd.DefaultMemberPermissions == nil || c.GuildID == "" {
		return nil
	}
	need, _ := strconv.ParseInt(*cmd.DefaultMemberPermissions, 10, 64) // validated at registration
	have := c.MemberPermissions
	if have == 0 {
		have = MemberPerms
	}
	if have&PermAdministrator != 0 || (need != 0 && have&need == need) {
		return nil
	}
	return fmt.Errorf("%w: /%s needs permissions %d (default_member_permissions), the member has %d", ErrNotOffered, c.Name, need, have)
}
