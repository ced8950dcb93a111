package backendtest_test

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"conveyor/backend/backendtest"

	"github.com/stretchr/testify/require"
)

// echoServer answers each line sent to it with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	return l.Addr().String()
}

// roundTrip dials addr, sends one line and returns the answer or an error.
func roundTrip(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestCutProxy(t *testing.T) {
	t.Parallel()
	p := backendtest.StartCutProxy(t, echoServer(t))

	got, err := roundTrip(p.Addr())
	require.NoError(t, err)
	require.Equal(t, "ping\n", got)

	// An open connection is closed by the cut.
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("a\n"))
	require.NoError(t, err)
	r := bufio.NewReader(c)
	_, err = r.ReadString('\n')
	require.NoError(t, err)
	p.SetCut(true)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = r.ReadString('\n')
	require.ErrorIs(t, err, io.EOF, "the cut closes live connections")

	// New connections are refused while cut, and flow again once restored.
	_, err = roundTrip(p.Addr())
	require.Error(t, err)
	p.SetCut(false)
	got, err = roundTrip(p.Addr())
	require.NoError(t, err)
	require.Equal(t, "ping\n", got)
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	port := backendtest.FreePort(t)
	require.Positive(t, port)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	require.NoError(t, err, "the port can be bound")
	require.NoError(t, l.Close())
}
