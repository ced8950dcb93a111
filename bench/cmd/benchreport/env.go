package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// env describes where and with what the benchmarks ran.
type env struct {
	Date        string            `json:"date"`
	Commit      string            `json:"commit"`
	NProc       int               `json:"nproc"`
	CPU         string            `json:"cpu"`
	RAM         string            `json:"ram"`
	Kernel      string            `json:"kernel"`
	LoadAvg     string            `json:"loadavg"` // /proc/loadavg when env was collected (end of the run)
	Go          string            `json:"go"`
	Postgres    string            `json:"postgres"`
	PostgresCfg map[string]string `json:"postgres_settings"`
	Redis       string            `json:"redis"`
	RedisCfg    map[string]string `json:"redis_settings"`
	NATS        string            `json:"nats"`
	NATSCmdline string            `json:"nats_cmdline"`
	Peers       map[string]string `json:"peers"` // module -> version, from bench/peers/go.mod
}

// collectEnv gathers env by asking the machine and the servers; what cannot
// be learned is "unknown".
func collectEnv(pgURL, redisHost, redisPort, peersGoMod string) env {
	e := env{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Commit:  orUnknown(run("git", "rev-parse", "--short", "HEAD")),
		NProc:   runtime.NumCPU(),
		CPU:     orUnknown(procField("/proc/cpuinfo", "model name")),
		Kernel:  orUnknown(run("uname", "-sr")),
		LoadAvg: orUnknown(loadAvg()),
		Go:      orUnknown(run("go", "version")),
	}
	if kb, err := strconv.ParseFloat(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 64); err == nil && kb > 0 {
		e.RAM = fmt.Sprintf("%.1f GiB", kb/(1<<20))
	} else {
		e.RAM = "unknown"
	}
	e.Postgres = orUnknown(run("psql", pgURL, "-tAc", "SHOW server_version"))
	e.PostgresCfg = map[string]string{}
	for _, k := range []string{"fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "shared_buffers", "max_connections"} {
		e.PostgresCfg[k] = orUnknown(run("psql", pgURL, "-tAc", "SHOW "+k))
	}
	info := run("redis-cli", "-h", redisHost, "-p", redisPort, "INFO", "server")
	e.Redis = "unknown"
	if m := regexp.MustCompile(`redis_version:(\S+)`).FindStringSubmatch(info); m != nil {
		e.Redis = m[1]
	}
	e.RedisCfg = map[string]string{}
	for _, k := range []string{"appendonly", "appendfsync", "save"} {
		// CONFIG GET prints the key, then the value on the next line; an
		// empty value (save "") leaves only the key once trimmed.
		out := strings.Split(run("redis-cli", "-h", redisHost, "-p", redisPort, "CONFIG", "GET", k), "\n")
		v := "unknown"
		switch {
		case len(out) == 2:
			v = strings.TrimSpace(out[1])
		case len(out) == 1 && out[0] == k:
			v = `""`
		}
		e.RedisCfg[k] = v
	}
	e.NATS = orUnknown(run("nats-server", "--version"))
	e.NATSCmdline = orUnknown(run("pgrep", "-a", "-x", "nats-server"))
	e.Peers = map[string]string{}
	if b, err := os.ReadFile(peersGoMod); err == nil {
		for _, m := range regexp.MustCompile(`(?m)^\s*(?:require\s+)?(github\.com/(?:riverqueue/river|hibiken/asynq|jackc/pgx/v5|redis/go-redis/v9))\s+(v\S+)`).FindAllStringSubmatch(string(b), -1) {
			e.Peers[m[1]] = m[2]
		}
	}
	return e
}

// run runs a command for at most 10 s and returns its trimmed output, or ""
// when it fails.
func run(name string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
