package discord

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// SetAPIBase points discordgo at base (for example "http://127.0.0.1:8080/")
// instead of https://discord.com/: REST calls go to base+"api/v9/…" and the
// gateway URL is discovered with GET base+"api/v9/gateway".
//
// discordgo keeps its endpoints in package variables computed once at init,
// so this changes them for the whole process: call it before New, and never
// from two goroutines or for two bots with different bases. New calls it when
// Config.APIURL is set.
func SetAPIBase(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("discord api url %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("discord api url %q: want http(s)://host/", base)
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	discordgo.EndpointDiscord = base
	// Every string endpoint derived from EndpointDiscord, in endpoints.go
	// order; the func-valued endpoints read these when called.
	discordgo.EndpointAPI = base + "api/v" + discordgo.APIVersion + "/"
	api := discordgo.EndpointAPI
	discordgo.EndpointGuilds = api + "guilds/"
	discordgo.EndpointChannels = api + "channels/"
	discordgo.EndpointUsers = api + "users/"
	discordgo.EndpointGateway = api + "gateway"
	discordgo.EndpointGatewayBot = discordgo.EndpointGateway + "/bot"
	discordgo.EndpointWebhooks = api + "webhooks/"
	discordgo.EndpointStickers = api + "stickers/"
	discordgo.EndpointStageInstances = api + "stage-instances"
	discordgo.EndpointSKUs = api + "skus"
	discordgo.EndpointVoice = api + "/voice/"
	discordgo.EndpointVoiceRegions = discordgo.EndpointVoice + "regions"
	discordgo.EndpointNitroStickersPacks = api + "/sticker-packs"
	discordgo.EndpointGuildCreate = api + "guilds"
	discordgo.EndpointApplications = api + "applications"
	discordgo.EndpointOAuth2 = api + "oauth2/"
	discordgo.EndpointOAuth2Applications = discordgo.EndpointOAuth2 + "applications"
	discordgo.EndpointOauth2 = discordgo.EndpointOAuth2
	discordgo.EndpointOauth2Applications = discordgo.EndpointOAuth2Applications
	return nil
}
