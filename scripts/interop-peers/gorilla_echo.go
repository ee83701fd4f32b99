// Echo server on gorilla/websocket (Debian's golang-github-gorilla-websocket-dev), an interop peer
// for scripts/interop.
//
// Usage: gorilla_echo PORT
//
// Listens on 127.0.0.1:PORT, sends every text and binary message back with the same type, prints
// `ready` once listening. Compression is off; messages are capped at 64 MiB.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func echo(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetReadLimit(64 << 20)
	for {
		kind, message, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if conn.WriteMessage(kind, message) != nil {
			return
		}
	}
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	http.Serve(listener, http.HandlerFunc(echo))
}
