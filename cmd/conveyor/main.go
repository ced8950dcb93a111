// Command conveyor is the conveyor binary: `conveyor dev` runs the API, the
// admin page, a worker with demo jobs and maintenance on SQLite in one
// process; `server` and `worker` run them apart; the other commands enqueue
// and inspect jobs, directly on a backend (--backend) or through a server
// (--server).
//
// Exit codes: 0 success, 1 error, 2 usage or invalid input, 3 not found,
// 4 conflict (the job's state does not allow the operation), 5 backend or
// server unavailable (bad URL, unreachable, missing database), 6 not
// authorized (missing, unknown or under-scoped token).
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
