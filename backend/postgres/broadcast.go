package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"conveyor/backend"
)

var _ backend.Broadcaster = (*Backend)(nil)

// eventsChannel is the NOTIFY channel of a schema's broadcasts.
func eventsChannel(schema string) string { return schemaChannel("conveyor_events.", schema) }

// Broadcast implements backend.Broadcaster with NOTIFY (delivered to the
// sessions listening when it commits; never stored).
func (b *Backend) Broadcast(ctx context.Context, msg []byte) error {
	if err := b.check(); err != nil {
		return err
	}
	if err := backend.CheckBroadcast("postgres", msg); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, "SELECT pg_notify($1, $2)", eventsChannel(b.cfg.Schema), string(msg)); err != nil {
		return fmt.Errorf("postgres: broadcast: %w", err)
	}
	return nil
}

// Listen implements backend.Broadcaster on a connection of its own, opened
// again after ListenerRetry when it drops (messages sent meanwhile are
// lost).
func (b *Backend) Listen(ctx context.Context) (<-chan []byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	conn, err := b.listenConn(ctx)
	if err != nil {
		return nil, err
	}
	c := make(chan []byte, backend.BroadcastBuffer)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-ctx.Done():
		case <-b.closed:
			cancel()
		}
	}()
	go func() {
		defer close(c)
		defer cancel()
		for ctx.Err() == nil {
			if conn != nil {
				b.relay(ctx, conn, c)
				closeCtx, stop := context.WithTimeout(context.Background(), time.Second)
				_ = conn.Close(closeCtx)
				stop()
				conn = nil
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(b.cfg.ListenerRetry):
			}
			conn, _ = b.listenConn(ctx) // nil on failure: wait and retry
		}
	}()
	return c, nil
}

// listenConn opens a connection that LISTENs on the events channel.
func (b *Backend) listenConn(ctx context.Context) (*pgx.Conn, error) {
	cfg := b.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "conveyor-events"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: listen: connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{eventsChannel(b.cfg.Schema)}.Sanitize()); err != nil {
		closeCtx, stop := context.WithTimeout(context.Background(), time.Second)
		defer stop()
		_ = conn.Close(closeCtx)
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

// relay hands notifications to c until the connection fails or ctx ends.
func (b *Backend) relay(ctx context.Context, conn *pgx.Conn, c chan<- []byte) {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return
		}
		select {
		case c <- []byte(n.Payload):
		default: // the listener is BroadcastBuffer messages behind
		}
	}
}
