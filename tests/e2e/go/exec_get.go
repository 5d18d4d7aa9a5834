// exec_get.go: one HTTP GET over a plain TCP connection, for the exec
// tests: the Go counterpart of progs/exec_get.c.  Go's net package makes
// its socket system calls itself, with or without cgo, so LD_PRELOAD never
// sees them: socksify must refuse to run this.
//
//	exec_get_go HOST PORT
package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: exec_get_go HOST PORT")
		os.Exit(64)
	}
	c, err := net.Dial("tcp", net.JoinHostPort(os.Args[1], os.Args[2]))
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(3)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.0\r\nHost: exec-test\r\n\r\n")
	io.Copy(os.Stdout, c)
}
