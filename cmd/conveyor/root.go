package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Environment variables the CLI reads.
const (
	envBackend = "CONVEYOR_BACKEND" // backend URL when --backend is not given
	envServer  = "CONVEYOR_SERVER"  // server URL when --server is not given
	envToken   = "CONVEYOR_TOKEN"   // bearer token for --server
	envTokens  = "CONVEYOR_TOKENS"  // tokens a server accepts: "tok1:admin,tok2:read"
)

// defaultBackend is the backend when neither --backend nor CONVEYOR_BACKEND
// names one (DESIGN.md §1).
const defaultBackend = "sqlite:conveyor.db"

// globals are the flags every command shares.
type globals struct {
	backendURL string
	serverURL  string
	json       bool
	stdout     io.Writer
	stderr     io.Writer
}

// extraCommands are constructors of commands defined in files of this
// package owned by other parts of the project (bench.go adds `bench` from
// its init), so the root does not depend on them at compile time.
var extraCommands []func() *cobra.Command

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	printError(stderr, err)
	return exitCode(err)
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "conveyor",
		Short: "Asynchronous job processing: API, workers, CLI",
		Long: `conveyor runs jobs: enqueue work over HTTP or from the command line, run it on workers,
retry it, and see what happened.

Start here:
  conveyor dev                                  # API + admin page + worker + demo jobs on sqlite:conveyor.db
  conveyor enqueue demo.fail --args '{"times":2}'
  conveyor job list

Commands talk to a backend directly (--backend URL, else $CONVEYOR_BACKEND, else
sqlite:conveyor.db) or to a running server (--server URL or $CONVEYOR_SERVER, with
$CONVEYOR_TOKEN as the bearer token).

Exit codes: 0 ok, 1 error, 2 usage or invalid input, 3 not found, 4 conflict
(the job's state does not allow it), 5 backend or server unavailable, 6 not authorized.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return withCode(exitUsage, fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath()))
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.backendURL, "backend", "", "backend URL: sqlite:PATH, postgres://…, redis://…, nats://…, memory: (default $"+envBackend+", else "+defaultBackend+")")
	pf.StringVar(&g.serverURL, "server", "", "talk to a conveyor server at this URL instead of the backend (default $"+envServer+"; token from $"+envToken+")")
	pf.BoolVar(&g.json, "json", false, "print JSON for scripts instead of tables")

	root.AddCommand(
		newDevCmd(g),
		newServerCmd(g),
		newWorkerCmd(g),
		newEnqueueCmd(g),
		newJobCmd(g),
		newQueueCmd(g),
		newScheduleCmd(g),
		newMigrateCmd(g),
	)
	for _, c := range extraCommands {
		root.AddCommand(c())
	}
	// Unknown subcommands and bad arguments are usage errors (exit 2).
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unknown command %q (see conveyor --help)", args[0])
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	return root
}

// usageArgs wraps a cobra argument check so its failures exit 2.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return withCode(exitUsage, fmt.Errorf("%s: %w (see %s --help)", strings.TrimPrefix(cmd.CommandPath(), "conveyor "), err, cmd.CommandPath()))
		}
		return nil
	}
}

// resolveBackend applies DESIGN.md §1's order: flag, environment, default.
func (g *globals) resolveBackend() string {
	if g.backendURL != "" {
		return g.backendURL
	}
	if v := os.Getenv(envBackend); v != "" {
		return v
	}
	return defaultBackend
}

// resolveServer returns the server URL, or "" to use the backend directly.
func (g *globals) resolveServer() (string, error) {
	switch {
	case g.serverURL != "" && g.backendURL != "":
		return "", usageErrorf("give either --server or --backend, not both")
	case g.serverURL != "":
		return g.serverURL, nil
	case g.backendURL != "":
		return "", nil // an explicit backend beats $CONVEYOR_SERVER
	}
	return os.Getenv(envServer), nil
}
