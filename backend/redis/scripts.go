package redis

import (
	"context"
	"embed"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// The Lua scripts, one per file; each file's header states its KEYS, ARGV and
// return value.
//
//go:embed scripts/*.lua
var scriptFS embed.FS

// mustScript loads scripts/NAME.lua, after the library files libs
// (scripts/LIB.lua: local functions several scripts share).
func mustScript(name string, libs ...string) *goredis.Script {
	var src []byte
	for _, f := range append(libs, name) {
		b, err := scriptFS.ReadFile("scripts/" + f + ".lua")
		if err != nil {
			panic(fmt.Sprintf("redis backend: missing embedded script %s: %v", f, err))
		}
		src = append(append(src, b...), '\n')
	}
	return goredis.NewScript(string(src))
}

// The scripts, loaded once per server by Migrate (SCRIPT LOAD) and run by
// SHA (EVALSHA); a server that lost its script cache (restart) gets them again
// on the first NOSCRIPT error.
var (
	scriptEnqueue      = mustScript("enqueue")
	scriptClaim        = mustScript("claim")
	scriptFinish       = mustScript("finish")
	scriptJobGet       = mustScript("job_get")
	scriptLeaseExtend  = mustScript("lease_extend")
	scriptRescue       = mustScript("rescue")
	scriptPromote      = mustScript("promote")
	scriptCancel       = mustScript("cancel", "lib_ready")
	scriptRetry        = mustScript("retry", "lib_ready")
	scriptDelete       = mustScript("delete", "lib_ready")
	scriptPurge        = mustScript("purge")
	scriptPrune        = mustScript("prune")
	scriptQueueStats   = mustScript("queue_stats")
	scriptRecordPut    = mustScript("record_put")
	scriptRecordDelete = mustScript("record_delete")
	scriptMigrate      = mustScript("migrate")

	allScripts = []*goredis.Script{
		scriptEnqueue, scriptClaim, scriptFinish, scriptJobGet, scriptLeaseExtend, scriptRescue, scriptPromote,
		scriptCancel, scriptRetry, scriptDelete, scriptPurge, scriptPrune, scriptQueueStats,
		scriptRecordPut, scriptRecordDelete, scriptMigrate,
	}
)

// loadScripts loads every script into the server's script cache.
func loadScripts(ctx context.Context, c goredis.Scripter) error {
	for _, s := range allScripts {
		if err := s.Load(ctx, c).Err(); err != nil {
			return fmt.Errorf("load scripts: %w", err)
		}
	}
	return nil
}
