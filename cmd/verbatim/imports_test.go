package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/verbatimbot/verbatim"

// TestImportRules holds the architecture of DESIGN.md: dependencies flow
// corpus ← retrieval ← bot ← cmd, prompts and openaicompat are leaves, and
// each third-party client is imported in exactly one place.
func TestImportRules(t *testing.T) {
	// Which of our packages each package may import.
	allowed := map[string][]string{
		"corpus":                    []string{},
		"corpus/synth":              {"corpus"},
		"corpus/web":                {"corpus"},
		"corpus/watch":              {"corpus"},
		"bot/gaps":                  {"retrieval", "bot/jsonl"},
		"bot/jsonl":                 []string{},
		"prompts":                   []string{},
		"openaicompat":              []string{},
		"openaicompat/openaitest":   []string{},
		"retrieval":                 {"corpus", "openaicompat"},
		"retrieval/storetest":       {"corpus", "corpus/synth", "retrieval"},
		"retrieval/postgres":        {"corpus", "retrieval"},
		"retrieval/postgres/pgtest": {"retrieval/postgres"},
		"bot":                       {"corpus", "retrieval"},
		"bot/llm":                   {"bot", "retrieval", "prompts", "openaicompat"},
		"bot/discord":               {"bot", "bot/gaps", "bot/jsonl", "corpus", "corpus/web"},
		"bot/discord/discordtest":   {},
		"eval":                      {"bot", "corpus", "retrieval"},
		"bot/internal/gensynonyms":  {"retrieval"},
		"cmd/verbatim":              {"bot", "bot/llm", "bot/discord", "bot/gaps", "corpus", "corpus/synth", "corpus/web", "corpus/watch", "retrieval", "retrieval/postgres", "prompts", "openaicompat", "eval"},
	}
	// Third-party clients and the only files (or packages) that import them.
	exclusive := map[string][]string{
		"github.com/philippgille/chromem-go": {"retrieval/store.go"},
		"github.com/sashabaranov/go-openai":  {"openaicompat/"},
		"github.com/bwmarrin/discordgo":      {"bot/discord/"},
		// The PostgreSQL store, and the helper that gives its tests a
		// schema of their own.
		"github.com/jackc/pgx/v5":         {"retrieval/postgres/", "retrieval/postgres/pgtest/"},
		"github.com/pgvector/pgvector-go": {"retrieval/postgres/"},
		"github.com/mmcdole/gofeed":       {"corpus/web/feeds.go"},
		"github.com/fsnotify/fsnotify":    {"corpus/watch/"},
	}
	root := "../.."
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		pkg := path.Dir(rel)
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(ip, module+"/") {
				dep := strings.TrimPrefix(ip, module+"/")
				ok, known := allowed[pkg]
				if !known {
					t.Errorf("%s: package %s is not in the import rules; add it", rel, pkg)
					continue
				}
				if !slices.Contains(ok, dep) {
					t.Errorf("%s imports %s: %s may import only %v", rel, dep, pkg, ok)
				}
			}
			for lib, places := range exclusive {
				if ip != lib && !strings.HasPrefix(ip, lib+"/") {
					continue
				}
				permitted := false
				for _, pl := range places {
					if rel == pl || (strings.HasSuffix(pl, "/") && strings.HasPrefix(rel, pl) && pkg == strings.TrimSuffix(pl, "/")) {
						permitted = true
					}
				}
				if !permitted {
					t.Errorf("%s imports %s, which only %v may import", rel, lib, places)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
