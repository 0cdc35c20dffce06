package discord

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// TestSetAPIBaseCoversEveryEndpoint reads discordgo's endpoints.go and
// checks that every string endpoint derived (directly or not) from
// EndpointDiscord points at the new base after SetAPIBase, so an upgrade
// adding one fails here instead of calling discord.com from tests.
func TestSetAPIBaseCoversEveryEndpoint(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/bwmarrin/discordgo").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	file := filepath.Join(strings.TrimSpace(string(out)), "endpoints.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Non-func vars and the identifiers their initialisers use.
	uses := map[string][]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if _, isFunc := vs.Values[i].(*ast.FuncLit); isFunc {
					continue
				}
				ast.Inspect(vs.Values[i], func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok {
						uses[name.Name] = append(uses[name.Name], id.Name)
					}
					return true
				})
			}
		}
	}
	derived := map[string]bool{"EndpointDiscord": true}
	for changed := true; changed; {
		changed = false
		for name, ids := range uses {
			for _, id := range ids {
				if derived[id] && !derived[name] {
					derived[name], changed = true, true
				}
			}
		}
	}

	const base = "http://127.0.0.1:9/"
	saved := discordgo.EndpointDiscord
	if err := SetAPIBase(base); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := SetAPIBase(saved); err != nil {
			t.Fatal(err)
		}
	}()
	values := endpointValues()
	n := 0
	for name := range derived {
		v, ok := values[name]
		if !ok {
			t.Errorf("discordgo.%s derives from EndpointDiscord: reassign it in SetAPIBase and list it in endpointValues", name)
			continue
		}
		n++
		if !strings.HasPrefix(v, base) {
			t.Errorf("%s = %q after SetAPIBase", name, v)
		}
	}
	if n < 15 {
		t.Errorf("checked only %d string endpoints; the parse went wrong", n)
	}
	for name, got := range map[string]string{
		"interaction callback": discordgo.EndpointInteractionResponse("1", "tok"),
		"edit original":        discordgo.EndpointInteractionResponseActions("2", "tok"),
		"guild commands":       discordgo.EndpointApplicationGuildCommands("2", "3"),
		"channel messages":     discordgo.EndpointChannelMessages("4"),
		"gateway":              discordgo.EndpointGateway,
	} {
		if !strings.HasPrefix(got, base+"api/v9/") {
			t.Errorf("%s endpoint = %q", name, got)
		}
	}
}

// endpointValues maps the names of discordgo's string endpoint variables to
// their values. A variable discordgo adds makes the test above fail until it
// is listed here (and reassigned in SetAPIBase).
func endpointValues() map[string]string {
	m := map[string]string{}
	for name, p := range map[string]*string{
		"EndpointDiscord": &discordgo.EndpointDiscord, "EndpointAPI": &discordgo.EndpointAPI,
		"EndpointGuilds": &discordgo.EndpointGuilds, "EndpointChannels": &discordgo.EndpointChannels,
		"EndpointUsers": &discordgo.EndpointUsers, "EndpointGateway": &discordgo.EndpointGateway,
		"EndpointGatewayBot": &discordgo.EndpointGatewayBot, "EndpointWebhooks": &discordgo.EndpointWebhooks,
		"EndpointStickers": &discordgo.EndpointStickers, "EndpointStageInstances": &discordgo.EndpointStageInstances,
		"EndpointSKUs": &discordgo.EndpointSKUs, "EndpointVoice": &discordgo.EndpointVoice,
		"EndpointVoiceRegions": &discordgo.EndpointVoiceRegions, "EndpointNitroStickersPacks": &discordgo.EndpointNitroStickersPacks,
		"EndpointGuildCreate": &discordgo.EndpointGuildCreate, "EndpointApplications": &discordgo.EndpointApplications,
		"EndpointOAuth2": &discordgo.EndpointOAuth2, "EndpointOAuth2Applications": &discordgo.EndpointOAuth2Applications,
		"EndpointOauth2": &discordgo.EndpointOauth2, "EndpointOauth2Applications": &discordgo.EndpointOauth2Applications,
	} {
		m[name] = *p
	}
	return m
}
