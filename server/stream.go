package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"conveyor/events"

	"github.com/coder/websocket"
)

// StreamProtocol is the WebSocket subprotocol of GET /api/v1/stream. A
// browser, which cannot set an Authorization header on a WebSocket, offers
// its token as a second subprotocol "bearer.TOKEN".
const StreamProtocol = "conveyor.v1"

// streamBuffer is how many events, and streamBufferBytes how many bytes of
// them, may wait for a slow client before the stream is closed (so one
// slow client never slows the publishers, nor holds on to more than a few
// MiB of events: 1024 events of up to 512 KiB of data each would be 512 MiB).
const (
	streamBuffer      = 1024
	streamBufferBytes = 8 << 20
)

// streamPing keeps idle connections alive through proxies.
const streamPing = 30 * time.Second

// stream sends every event of the server's stream bus whose type matches one of
// the ?types= patterns (default all) as one JSON text message, until the
// client goes away.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) error {
	bus := s.cfg.Stream
	if bus == nil {
		bus = s.cfg.Events
	}
	if bus == nil {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "this server has no event bus")
	}
	patterns := []string{"**"}
	for k, v := range r.URL.Query() {
		if k != "types" {
			return errorf(http.StatusBadRequest, CodeBadRequest, "unknown query parameter %q (want types)", k)
		}
		patterns = nil
		for _, item := range v {
			for p := range strings.SplitSeq(item, ",") {
				if err := events.ValidPattern(strings.TrimSpace(p)); err != nil {
					return errorf(http.StatusBadRequest, CodeBadRequest, "types: %v", err)
				}
				patterns = append(patterns, strings.TrimSpace(p))
			}
		}
	}
	// Subscribed before the handshake completes, so a client that
	// publishes right after connecting sees its event.
	ch := make(chan *events.Event, streamBuffer)
	overflow := make(chan struct{})
	var once sync.Once
	var queued atomic.Int64 // bytes of the events in ch (eventSize)
	cancel, err := bus.Subscribe("**", func(_ context.Context, ev *events.Event) {
		if !matchesAny(patterns, ev.Type) {
			return
		}
		// One event larger than the whole budget still goes to a client
		// that has nothing waiting.
		n := eventSize(ev)
		if q := queued.Add(n); q > streamBufferBytes && q != n {
			queued.Add(-n)
		} else {
			select {
			case ch <- ev:
				return
			default:
				queued.Add(-n)
			}
		}
		once.Do(func() { close(overflow) })
	})
	if err != nil {
		return err
	}
	defer cancel()

	// The server's write timeout must not end a long-lived stream.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{StreamProtocol}})
	if err != nil {
		return nil // Accept has answered the client
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context()) // the client sends nothing; a close or error ends ctx

	ping := time.NewTicker(streamPing)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.streams.Done():
			c.Close(websocket.StatusGoingAway, "server stopping")
			return nil
		case <-overflow:
			c.Close(websocket.StatusPolicyViolation, "client too slow: events were dropped")
			return nil
		case <-ping.C:
			if err := c.Ping(ctx); err != nil {
				return nil
			}
		case ev := <-ch:
			queued.Add(-eventSize(ev))
			data, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = c.Write(wctx, websocket.MessageText, data)
			cancel()
			if err != nil {
				return nil
			}
		}
	}
}

// eventSize approximates the memory an event holds (its strings and data;
// the fixed part is a guess), for the stream's byte budget.
func eventSize(ev *events.Event) int64 {
	return int64(len(ev.Data) + len(ev.ID) + len(ev.Source) + len(ev.Type) + len(ev.Subject) + 128)
}

func matchesAny(patterns []string, typ string) bool {
	for _, p := range patterns {
		if events.Match(p, typ) {
			return true
		}
	}
	return false
}
