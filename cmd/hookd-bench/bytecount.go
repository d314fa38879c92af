package main

// Counting the bytes hookd sends the bench over its sockets, so that they
// can be told apart from what hookd writes to its database files (see
// writes.go): everything hookd writes to a socket, the bench reads.

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// clientReadBytes counts the bytes the bench's HTTP clients (newClient)
// have read from their connections: hookd's answers, during a load.
var clientReadBytes atomic.Int64

// countingConn counts the bytes read from a connection into n.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	k, err := c.Conn.Read(b)
	c.n.Add(int64(k))
	return k, err
}

// countingListener hands out connections that count the bytes read from
// them into n.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, n: l.n}, nil
}

// countingDial dials as http.DefaultTransport does, and counts what is
// read from the connection into clientReadBytes.
func countingDial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, n: &clientReadBytes}, nil
}

// countingWriter counts the bytes written to it into n, and drops them
// on w (if any).
type countingWriter struct {
	w interface{ Write([]byte) (int, error) }
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	c.n.Add(int64(len(b)))
	if c.w == nil {
		return len(b), nil
	}
	return c.w.Write(b)
}
