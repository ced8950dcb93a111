package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if err := runCmd(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func runCmd(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: benchreport compare FILE... | env [flags] | report [flags]")
	}
	switch args[0] {
	case "compare":
		var recs []record
		for _, path := range args[1:] {
			r, err := readRecords(path)
			if err != nil {
				return err
			}
			recs = append(recs, r...)
		}
		writeCompare(os.Stdout, group(recs))
		return nil
	case "env":
		fs := flag.NewFlagSet("env", flag.ContinueOnError)
		pg := fs.String("pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL")
		redisHost := fs.String("redis-host", "127.0.0.1", "Redis host")
		redisPort := fs.String("redis-port", "6379", "Redis port")
		peers := fs.String("peers-gomod", "bench/peers/go.mod", "go.mod of the peers module")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(collectEnv(*pg, *redisHost, *redisPort, *peers))
	case "report":
		fs := flag.NewFlagSet("report", flag.ContinueOnError)
		dir := fs.String("dir", "bench/results", "directory with results.jsonl, env.json and micro.txt; plot.png is written there")
		md := fs.String("md", "BENCHMARKS.md", "markdown file to write")
		notes := fs.String("notes", "bench/NOTES.md", "hand-written notes included in the markdown, if the file exists")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return report(*dir, *md, *notes)
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func report(dir, mdPath, notesPath string) error {
	recs, err := readRecords(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return err
	}
	t := group(recs)
	rounds := 0
	for _, r := range recs {
		rounds = max(rounds, r.Round)
	}
	var e env
	b, err := os.ReadFile(filepath.Join(dir, "env.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return fmt.Errorf("env.json: %w", err)
	}
	micro, _ := os.ReadFile(filepath.Join(dir, "micro.txt")) // optional
	notes, _ := os.ReadFile(notesPath)                       // optional
	var png bytes.Buffer
	if err := writePlot(&png, t); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "plot.png"), png.Bytes(), 0o644); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(mdPath), filepath.Join(dir, "plot.png"))
	if err != nil {
		return err
	}
	var md bytes.Buffer
	writeMarkdown(&md, t, e, rounds, string(micro), string(notes), filepath.ToSlash(rel))
	return os.WriteFile(mdPath, md.Bytes(), 0o644)
}
