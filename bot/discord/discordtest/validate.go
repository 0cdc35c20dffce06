package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf16"
)

// Discord's message limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
// Lengths are counted in UTF-16 code units, never fewer than Discord counts.
const (
	maxContent       = 2000
	maxEmbeds        = 10
	maxEmbedTitle    = 256
	maxEmbedDesc     = 4096
	maxEmbedFields   = 25
	maxFieldName     = 256
	maxFieldValue    = 1024
	maxFooterText    = 2048
	maxAuthorName    = 256
	maxEmbedsTotal   = 6000
	maxURL           = 2048
	maxRows          = 5
	maxRowComponents = 5
	maxCustomID      = 100
	maxButtonLabel   = 80
	maxNonce         = 25
)

// textLen counts s as Discord's limits do, or more (UTF-16 code units).
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// messageBody is the message part of every route that creates or edits a
// message (channel messages, webhook messages, interaction responses).
// Pointer fields tell "absent" (an edit keeps the old value) from "empty".
type messageBody struct {
	Content         *string            `json:"content"`
	Embeds          *[]embedBody       `json:"embeds"`
	Components      *[]json.RawMessage `json:"components"`
	Flags           *int               `json:"flags"`
	AllowedMentions *struct {
		Parse       *[]string `json:"parse"`
		RepliedUser bool      `json:"replied_user"`
	} `json:"allowed_mentions"`
	Nonce            json.RawMessage `json:"nonce"`
	EnforceNonce     bool            `json:"enforce_nonce"`
	StickerIDs       []string        `json:"sticker_ids"`
	MessageReference *struct {
		MessageID       string `json:"message_id"`
		ChannelID       string `json:"channel_id"`
		GuildID         string `json:"guild_id"`
		FailIfNotExists *bool  `json:"fail_if_not_exists"`
	} `json:"message_reference"`
}

type embedBody struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Color       int    `json:"color"`
	Timestamp   string `json:"timestamp"`
	Footer      *struct {
		Text    string `json:"text"`
		IconURL string `json:"icon_url"`
	} `json:"footer"`
	Image *struct {
		URL string `json:"url"`
	} `json:"image"`
	Thumbnail *struct {
		URL string `json:"url"`
	} `json:"thumbnail"`
	Author *struct {
		Name    string `json:"name"`
		URL     string `json:"url"`
		IconURL string `json:"icon_url"`
	} `json:"author"`
	Fields []struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline"`
	} `json:"fields"`
}

// wellFormedURL is Discord's check on embed and link-button URLs: absolute
// http(s) with a host, at most 2,048 characters.
func wellFormedURL(s string, allowAttachment bool) bool {
	if s == "" || len(s) > maxURL || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	if allowAttachment && strings.HasPrefix(s, "attachment://") {
		return true
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// validateMessage checks a message body against Discord's limits. It does
// not check for emptiness (an edit may leave fields as they were).
func validateMessage(m messageBody) *apiError {
	if m.Content != nil && textLen(*m.Content) > maxContent {
		return invalidForm("content", fmt.Sprintf("Must be %d or fewer in length.", maxContent))
	}
	if m.Embeds != nil {
		if e := validateEmbeds(*m.Embeds); e != nil {
			return e
		}
	}
	if m.Components != nil {
		if e := validateComponents(*m.Components); e != nil {
			return e
		}
	}
	if m.AllowedMentions != nil && m.AllowedMentions.Parse != nil {
		for _, p := range *m.AllowedMentions.Parse {
			if p != "users" && p != "roles" && p != "everyone" {
				return invalidForm("allowed_mentions.parse", "Value must be one of {'users', 'roles', 'everyone'}.")
			}
		}
	}
	if len(m.Nonce) > 0 && string(m.Nonce) != "null" {
		var s string
		if json.Unmarshal(m.Nonce, &s) == nil && len(s) > maxNonce {
			return invalidForm("nonce", fmt.Sprintf("Must be %d or fewer in length.", maxNonce))
		}
	}
	return nil
}

func validateEmbeds(es []embedBody) *apiError {
	if len(es) > maxEmbeds {
		return invalidForm("embeds", fmt.Sprintf("Must be %d or fewer in length.", maxEmbeds))
	}
	total := 0
	for i, e := range es {
		at := func(f string) string { return fmt.Sprintf("embeds.%d.%s", i, f) }
		if n := textLen(e.Title); n > maxEmbedTitle {
			return invalidForm(at("title"), fmt.Sprintf("Must be %d or fewer in length.", maxEmbedTitle))
		}
		if n := textLen(e.Description); n > maxEmbedDesc {
			return invalidForm(at("description"), fmt.Sprintf("Must be %d or fewer in length.", maxEmbedDesc))
		}
		if len(e.Fields) > maxEmbedFields {
			return invalidForm(at("fields"), fmt.Sprintf("Must be %d or fewer in length.", maxEmbedFields))
		}
		total += textLen(e.Title) + textLen(e.Description)
		for j, f := range e.Fields {
			if textLen(f.Name) > maxFieldName || f.Name == "" {
				return invalidForm(at(fmt.Sprintf("fields.%d.name", j)), "Must be between 1 and 256 in length.")
			}
			if textLen(f.Value) > maxFieldValue || f.Value == "" {
				return invalidForm(at(fmt.Sprintf("fields.%d.value", j)), "Must be between 1 and 1024 in length.")
			}
			total += textLen(f.Name) + textLen(f.Value)
		}
		if e.Footer != nil {
			if textLen(e.Footer.Text) > maxFooterText {
				return invalidForm(at("footer.text"), fmt.Sprintf("Must be %d or fewer in length.", maxFooterText))
			}
			if e.Footer.IconURL != "" && !wellFormedURL(e.Footer.IconURL, true) {
				return invalidForm(at("footer.icon_url"), "Not a well formed URL.")
			}
			total += textLen(e.Footer.Text)
		}
		if e.Author != nil {
			if textLen(e.Author.Name) > maxAuthorName {
				return invalidForm(at("author.name"), fmt.Sprintf("Must be %d or fewer in length.", maxAuthorName))
			}
			if e.Author.URL != "" && !wellFormedURL(e.Author.URL, false) {
				return invalidForm(at("author.url"), "Not a well formed URL.")
			}
			total += textLen(e.Author.Name)
		}
		if e.URL != "" && !wellFormedURL(e.URL, false) {
			return invalidForm(at("url"), "Not a well formed URL.")
		}
		if e.Image != nil && !wellFormedURL(e.Image.URL, true) {
			return invalidForm(at("image.url"), "Not a well formed URL.")
		}
		if e.Thumbnail != nil && !wellFormedURL(e.Thumbnail.URL, true) {
			return invalidForm(at("thumbnail.url"), "Not a well formed URL.")
		}
	}
	if total > maxEmbedsTotal {
		return invalidForm("embeds", fmt.Sprintf("Embed size exceeds maximum size of %d", maxEmbedsTotal))
	}
	return nil
}

type componentBody struct {
	Type       int               `json:"type"`
	Components []json.RawMessage `json:"components"`
	Style      int               `json:"style"`
	Label      string            `json:"label"`
	CustomID   string            `json:"custom_id"`
	URL        string            `json:"url"`
	Emoji      *struct {
		Name string `json:"name"`
		ID   string `json:"id"`
	} `json:"emoji"`
	Options []json.RawMessage `json:"options"`
}

// validateComponents checks message components (v1 layout): up to 5 action
// rows of up to 5 buttons (or one select), custom IDs of at most 100
// characters, unique in the message.
func validateComponents(rows []json.RawMessage) *apiError {
	if len(rows) > maxRows {
		return invalidForm("components", fmt.Sprintf("Must be %d or fewer in length.", maxRows))
	}
	seen := map[string]bool{}
	for i, raw := range rows {
		var row componentBody
		if err := json.Unmarshal(raw, &row); err != nil || row.Type != 1 {
			return invalidForm(fmt.Sprintf("components.%d", i), "Top-level components must be action rows.")
		}
		if len(row.Components) == 0 || len(row.Components) > maxRowComponents {
			return invalidForm(fmt.Sprintf("components.%d.components", i), "Must be between 1 and 5 in length.")
		}
		for j, raw := range row.Components {
			at := fmt.Sprintf("components.%d.components.%d", i, j)
			var c componentBody
			if err := json.Unmarshal(raw, &c); err != nil {
				return invalidForm(at, err.Error())
			}
			switch c.Type {
			case 2: // button
				if c.Style < 1 || c.Style > 6 {
					return invalidForm(at+".style", "Value must be one of (1, 2, 3, 4, 5, 6).")
				}
				if textLen(c.Label) > maxButtonLabel {
					return invalidForm(at+".label", fmt.Sprintf("Must be %d or fewer in length.", maxButtonLabel))
				}
				if c.Label == "" && c.Emoji == nil {
					return invalidForm(at, "A button needs a label or an emoji.")
				}
				if c.Style == 5 {
					if c.CustomID != "" || !wellFormedURL(c.URL, false) {
						return invalidForm(at+".url", "A link button needs a well formed URL and no custom_id.")
					}
					continue
				}
			case 3, 5, 6, 7, 8: // selects
				if len(row.Components) != 1 {
					return invalidForm(at, "A select must be alone in its row.")
				}
				if len(c.Options) > 25 {
					return invalidForm(at+".options", "Must be 25 or fewer in length.")
				}
			default:
				return invalidForm(at+".type", fmt.Sprintf("Component type %d is not valid in an action row.", c.Type))
			}
			if c.CustomID == "" || textLen(c.CustomID) > maxCustomID {
				return invalidForm(at+".custom_id", "Must be between 1 and 100 in length.")
			}
			if seen[c.CustomID] {
				return invalidForm(at+".custom_id", "Component custom id cannot be duplicated")
			}
			seen[c.CustomID] = true
		}
	}
	return nil
}

// emptyMessage is 50006: a message needs content, an embed or a sticker.
func emptyMessage() *apiError {
	return apiErr(http.StatusBadRequest, 50006, "Cannot send an empty message")
}

// hasBody reports whether a message with this content and these embeds and
// stickers shows anything.
func hasBody(content string, embeds []embedBody, stickers int) bool {
	return strings.TrimSpace(content) != "" || len(embeds) > 0 || stickers > 0
}
