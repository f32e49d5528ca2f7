// deploycheck parses the deploy files with the same Go libraries Docker uses,
// so the tests catch what `docker build` and `docker compose` would reject
// on a machine that has no Docker engine.
//
//	deploycheck dockerfile FILE...   BuildKit's Dockerfile parser and its build checks
//	deploycheck compose FILE         compose-go's loader: schema, interpolation, references
//	deploycheck context DIR          the files `docker build DIR` sends, after DIR/.dockerignore
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: deploycheck dockerfile FILE... | compose FILE | context DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "dockerfile":
		err = checkDockerfiles(os.Args[2:])
	case "compose":
		err = checkCompose(os.Args[2])
	case "context":
		err = listContext(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type stageReport struct {
	Name     string   `json:"name"`
	Base     string   `json:"base"`
	Commands []string `json:"commands"`
}

type dockerfileReport struct {
	File     string        `json:"file"`
	Stages   []stageReport `json:"stages"`
	Warnings []string      `json:"warnings"`
}

func checkDockerfiles(files []string) error {
	var reports []dockerfileReport
	for _, file := range files {
		content, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		ast, err := parser.Parse(bytes.NewReader(content))
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		report := dockerfileReport{File: file, Warnings: []string{}}
		for _, w := range ast.Warnings {
			report.Warnings = append(report.Warnings, w.Short)
		}
		// Every build check BuildKit knows, as `docker build --check` runs them; base
		// images resolve to a bare config (only PATH) instead of going to a registry.
		sourceMap := llb.NewSourceMap(nil, file, "Dockerfile", content)
		sourceMap.Definition = &llb.Definition{}
		lint, err := dockerfile2llb.DockerfileLint(context.Background(), content, dockerfile2llb.ConvertOpt{
			MetaResolver: offlineResolver{},
			SourceMap:    sourceMap,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if lint.Error != nil {
			return fmt.Errorf("%s: %s", file, lint.Error.Message)
		}
		for _, w := range lint.Warnings {
			report.Warnings = append(report.Warnings, w.RuleName+": "+w.Detail)
		}
		stages, _, err := instructions.Parse(ast.AST, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		for _, stage := range stages {
			sr := stageReport{Name: stage.Name, Base: stage.BaseName, Commands: []string{}}
			for _, cmd := range stage.Commands {
				sr.Commands = append(sr.Commands, fmt.Sprint(cmd))
			}
			report.Stages = append(report.Stages, sr)
		}
		reports = append(reports, report)
	}
	return json.NewEncoder(os.Stdout).Encode(reports)
}

func checkCompose(file string) error {
	ctx := context.Background()
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithName("jmo"), cli.WithResolvedPaths(false))
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		return err
	}
	out, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}

// listContext prints, one per line, the files of the build context DIR that
// .dockerignore lets through, matched as the Docker CLI and BuildKit match them.
func listContext(dir string) error {
	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if d.IsDir() {
			// A directory can only be skipped when no exception pattern could bring back something inside it.
			if excluded && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if !excluded {
			fmt.Println(filepath.ToSlash(rel))
		}
		return nil
	})
}

// offlineResolver answers every base image with a config holding only the default
// PATH, so the build checks run without a registry.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, digest.FromString(ref), []byte(`{"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}}`), nil
}
