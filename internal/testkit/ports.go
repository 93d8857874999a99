package testkit

import (
	"fmt"
	"net"
)

// FreePort asks the kernel for a free loopback port. Another process may take it before
// the caller binds it; tests that can listen on port 0 themselves should.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
