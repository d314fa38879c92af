package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnection backoff of ListenDue.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// ListenDue blocks until ctx is done (it then returns nil) or the store is
// closed (ErrClosed), calling wake for each signal on hookd_due except
// those whose payload is owner (a non-empty owner's own). It holds a
// connection of its own, outside the pool. When that connection is lost,
// it reconnects with backoff and calls wake once listening again, since
// signals may have been missed meanwhile.
func (s *Store) ListenDue(ctx context.Context, owner string, wake func()) error {
	if s.isClosed() {
		return ErrClosed
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.quit:
			cancel()
		case <-lctx.Done():
		}
	}()
	end := func() error {
		if ctx.Err() != nil {
			return nil
		}
		return ErrClosed
	}

	backoff := listenBackoffMin
	reconnect := false
	for {
		conn, err := s.listenConn(lctx)
		if err != nil {
			if lctx.Err() != nil {
				return end()
			}
			s.log.Warn("pgstore: listen: cannot connect; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-lctx.Done():
				return end()
			}
			backoff = min(2*backoff, listenBackoffMax)
			reconnect = true
			continue
		}
		backoff = listenBackoffMin
		if reconnect {
			s.log.Info("pgstore: listen: connected again")
			s.fanout.Invalidate() // endpoint changes may have been missed too
			wake()
		}
		err = s.listenLoop(lctx, conn, owner, wake)
		s.listenPID.Store(0)
		_ = conn.Close(context.WithoutCancel(ctx))
		if lctx.Err() != nil {
			return end()
		}
		s.log.Warn("pgstore: listen: connection lost; reconnecting", "err", err)
		reconnect = true
	}
}

// listenConn opens a connection of its own and listens on hookd_due.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	cc := s.connConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, err
	}
	for _, ch := range []string{dueChannel, endpointsChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("listen: %w", err)
		}
	}
	s.listenPID.Store(conn.PgConn().PID())
	return conn, nil
}

// listenLoop waits for signals until ctx ends or the connection fails.
func (s *Store) listenLoop(ctx context.Context, conn *pgx.Conn, owner string, wake func()) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == endpointsChannel {
			s.fanout.Invalidate()
			continue
		}
		if n.Channel != dueChannel || (owner != "" && n.Payload == owner) {
			continue
		}
		wake()
	}
}
