package main

import (
	"context"
	"os"

	_ "conveyor/backend/memory"
	_ "conveyor/backend/postgres"
	_ "conveyor/backend/redis"
	_ "conveyor/backend/sqlite"
)

func main() {
	root := newBenchCmd()
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		root.SetArgs(os.Args[2:])
	}
	if err := root.ExecuteContext(context.Background()); err != nil {
		os.Exit(1)
	}
}
