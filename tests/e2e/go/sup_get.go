// sup_get.go: HTTP GETs from a Go program, for the seccomp backend's
// tests (seccomp.bats builds it with CGO_ENABLED=0, and with cgo).
//
//	sup_get get URL          one GET; prints the status and the body
//	sup_get many N HOST PORT N goroutines connect at once, each GETs /;
//	                         prints "ok K of N" (exit 0 when K == N)
//	sup_get peer HOST PORT   connects; prints "remote ADDR" (getpeername)
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func one(host, port string) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 45*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(45 * time.Second))
	fmt.Fprint(c, "GET / HTTP/1.0\r\nHost: sup-test\r\n\r\n")
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(b), "HTTP/1.") || !strings.Contains(strings.SplitN(string(b), "\r\n", 2)[0], " 200 ") {
		return fmt.Errorf("bad response %q", b)
	}
	return nil
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "get" {
		cl := &http.Client{Timeout: 20 * time.Second}
		r, err := cl.Get(os.Args[2])
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(3)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		fmt.Println(r.StatusCode)
		os.Stdout.Write(b)
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "peer" {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(os.Args[2], os.Args[3]), 45*time.Second)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(3)
		}
		fmt.Println("remote", c.RemoteAddr())
		c.Close()
		return
	}
	if len(os.Args) == 5 && os.Args[1] == "many" {
		n, _ := strconv.Atoi(os.Args[2])
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := one(os.Args[3], os.Args[4])
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else {
					fmt.Println("ERROR", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		fmt.Printf("ok %d of %d\n", ok, n)
		if ok != n {
			os.Exit(3)
		}
		return
	}
	fmt.Fprintln(os.Stderr, "usage: sup_get get URL | sup_get many N HOST PORT | sup_get peer HOST PORT")
	os.Exit(64)
}
