package backendtest

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// FreePort returns a loopback TCP port that was free a moment ago, for a
// test's private server process. Another process may take it before the
// server binds; fault tests accept that small race rather than parse each
// server's log for the port it chose.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// CutProxy is a TCP proxy on loopback to one server that a test can cut
// (every connection closed, new ones refused) and restore: it cuts a client
// off the network (RELIABILITY fault 6) without touching the shared server.
type CutProxy struct {
	target string
	l      net.Listener
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

// StartCutProxy starts a proxy to target (host:port), open until the test
// ends.
func StartCutProxy(t testing.TB, target string) *CutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &CutProxy{target: target, l: l, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { _ = l.Close(); p.SetCut(true) })
	go p.serve()
	return p
}

// Addr is the proxy's host:port, to put in the client's URL in place of
// the server's.
func (p *CutProxy) Addr() string { return p.l.Addr().String() }

func (p *CutProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(s, c)
		go p.pipe(c, s)
	}
}

// pipe copies src to dst until either side closes, then closes both and
// forgets them, so a long test does not keep every connection it ever made.
func (p *CutProxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// SetCut cuts (true) or restores (false) the network path.
func (p *CutProxy) SetCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}
