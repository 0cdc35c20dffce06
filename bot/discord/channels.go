package discord

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// What the bot remembers about server channels: their type (is it a
// thread, and of which channel), and what they refused it lately — so a
// channel without the bot's permissions costs one failing call, not three
// per mention forever.
type channelMemory struct {
	mu    sync.Mutex
	now   func() time.Time
	info  map[string]channelInfo
	limit map[string]*channelLimits
	roles map[string]roleInfo // guild ID → the bot's managed role
}

type channelInfo struct {
	typ      discordgo.ChannelType
	parentID string
	at       time.Time
}

func (c channelInfo) thread() bool {
	return c.typ == discordgo.ChannelTypeGuildPublicThread || c.typ == discordgo.ChannelTypeGuildPrivateThread ||
		c.typ == discordgo.ChannelTypeGuildNewsThread
}

// channelLimits are refusals, each remembered until a time.
type channelLimits struct {
	refused   time.Time // 403 or 404 on sending: the bot stays silent there
	reason    string
	noEmbeds  time.Time // no Embed Links: answer as text
	noReplies time.Time // no Read Message History: answer without replying
	noThreads time.Time // no Create Public Threads
}

type roleInfo struct {
	id string
	at time.Time
}

// How long refusals and lookups are remembered.
const (
	refusedFor     = 10 * time.Minute
	permsFor       = time.Hour
	channelInfoFor = 6 * time.Hour
	maxChannels    = 5000
)

func newChannelMemory(now func() time.Time) *channelMemory {
	return &channelMemory{now: now, info: map[string]channelInfo{}, limit: map[string]*channelLimits{}, roles: map[string]roleInfo{}}
}

func (c *channelMemory) limits(id string) *channelLimits {
	l, ok := c.limit[id]
	if !ok {
		if len(c.limit) >= maxChannels {
			c.limit = map[string]*channelLimits{} // forgetting only costs one more failing call
		}
		l = &channelLimits{}
		c.limit[id] = l
	}
	return l
}

// refuse remembers that id refused the bot (missing access or
// permissions, or the channel is gone).
func (c *channelMemory) refuse(id, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.limits(id)
	l.refused, l.reason = c.now().Add(refusedFor), reason
}

// refused reports whether id refused the bot lately.
func (c *channelMemory) refused(id string) (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.limit[id]; ok && c.now().Before(l.refused) {
		return true, l.reason
	}
	return false, ""
}

type capability int

const (
	capEmbeds capability = iota
	capReplies
	capThreads
)

func (l *channelLimits) until(cp capability) *time.Time {
	switch cp {
	case capEmbeds:
		return &l.noEmbeds
	case capReplies:
		return &l.noReplies
	}
	return &l.noThreads
}

// lacks remembers that id does not allow cp.
func (c *channelMemory) lacks(id string, cp capability) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.limits(id).until(cp) = c.now().Add(permsFor)
}

// can reports whether id allows cp, as far as the bot knows.
func (c *channelMemory) can(id string, cp capability) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limit[id]
	return !ok || !c.now().Before(*l.until(cp))
}

func (c *channelMemory) setInfo(id string, info channelInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.info) >= maxChannels {
		c.info = map[string]channelInfo{}
	}
	info.at = c.now()
	c.info[id] = info
}

func (c *channelMemory) cachedInfo(id string) (channelInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.info[id]
	return i, ok && c.now().Sub(i.at) < channelInfoFor
}

// channelInfo is what kind of channel id is (GET /channels/{id}, cached).
// When the lookup fails the channel is taken for a plain text channel.
func (b *Bot) channelInfo(ctx context.Context, log *slog.Logger, id string) channelInfo {
	if i, ok := b.chans.cachedInfo(id); ok {
		return i
	}
	var ch discordgo.Channel
	url := discordgo.EndpointChannel(id)
	if err := b.do(ctx, log, restCall{op: "get channel", method: "GET", url: url, bucket: url}, &ch); err != nil {
		b.noteRefusal(id, err)
		return channelInfo{typ: discordgo.ChannelTypeGuildText}
	}
	info := channelInfo{typ: ch.Type, parentID: ch.ParentID}
	b.chans.setInfo(id, info)
	return info
}

// botRole is the ID of the bot's managed role in guild ("" when it has
// none or the lookup failed), cached.
func (b *Bot) botRole(ctx context.Context, log *slog.Logger, guildID string) string {
	b.chans.mu.Lock()
	r, ok := b.chans.roles[guildID]
	b.chans.mu.Unlock()
	if ok && b.chans.now().Sub(r.at) < permsFor {
		return r.id
	}
	self, _ := b.identity()
	// discordgo's Role has no tags; bot_id is what marks the bot's role.
	var roles []struct {
		ID      string `json:"id"`
		Managed bool   `json:"managed"`
		Tags    *struct {
			BotID string `json:"bot_id"`
		} `json:"tags"`
	}
	url := discordgo.EndpointGuildRoles(guildID)
	id := ""
	if err := b.do(ctx, log, restCall{op: "get roles", method: "GET", url: url, bucket: url, optional: true}, &roles); err == nil {
		for _, role := range roles {
			if role.Managed && role.Tags != nil && role.Tags.BotID == self {
				id = role.ID
			}
		}
	}
	b.chans.mu.Lock()
	if len(b.chans.roles) >= maxChannels {
		b.chans.roles = map[string]roleInfo{}
	}
	b.chans.roles[guildID] = roleInfo{id: id, at: b.chans.now()}
	b.chans.mu.Unlock()
	return id
}

// noteRefusal remembers a channel that answered with missing access or
// permissions, or that is gone.
func (b *Bot) noteRefusal(channelID string, err error) bool {
	switch code := discordCode(err); {
	case code == codeMissingAccess, code == codeMissingPermissions, code == codeUnknownChannel,
		httpStatus(err) == 403:
		b.chans.refuse(channelID, err.Error())
		return true
	}
	return false
}
