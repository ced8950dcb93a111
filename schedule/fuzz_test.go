package schedule

import (
	"errors"
	"testing"
	"time"
)

// FuzzSpec feeds arbitrary expressions and zones to the cron wrapper
// (spec, through Validate). Whatever the input, it must not panic, must
// refuse with ErrInvalid, and a schedule it accepts must only ever move
// forward in time: the scheduler's loops (dueTimes) rely on Next being
// after its argument or zero.
//
//	go test -run '^$' -fuzz FuzzSpec -fuzztime 60s ./schedule/
func FuzzSpec(f *testing.F) {
	for _, seed := range []struct{ expr, tz string }{
		{"*/5 * * * *", ""},
		{"0 30 9 * * MON-FRI", "Europe/Paris"},
		{"@every 90s", ""},
		{"@every 1500ms", ""},
		{"@hourly", "America/New_York"},
		{"30 2 * * *", "Europe/Berlin"}, // inside a spring-forward gap once a year
		{"0 0 30 2 *", ""},              // never fires
		{"CRON_TZ=UTC * * * * *", ""},
		{"* * * * *", "Local"},
		{"61 * * * *", "Mars/Olympus"},
		{"", ""},
	} {
		f.Add(seed.expr, seed.tz)
	}
	from := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr, tz string) {
		s := Schedule{Name: "fuzz", Kind: "fuzz.job", Cron: expr, Timezone: tz}
		if err := s.Validate(); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate(%q, %q) = %v, not an ErrInvalid", expr, tz, err)
			}
			return
		}
		sched, err := s.spec()
		if err != nil {
			t.Fatalf("Validate accepted %q in %q but spec refused it: %v", expr, tz, err)
		}
		at := from
		for range 3 {
			next := sched.Next(at)
			if next.IsZero() {
				return // never fires again: accepted, and dueTimes stops
			}
			if !next.After(at) {
				t.Fatalf("%q in %q: Next(%v) = %v, not after it", expr, tz, at, next)
			}
			at = next
		}
	})
}
