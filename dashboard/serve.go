package dashboard

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// ErrConfigValidation is wrapped by every configuration error of Handler.
var ErrConfigValidation = errors.New("dashboard: invalid configuration")

// Config is what the page is told.
type Config struct {
	// NATS are the WebSocket URLs (ws:// or wss://) the page connects to.
	// A host of 0.0.0.0, :: or "" stands for the host the page was loaded
	// from, so a listener on every interface works from any machine.
	NATS []string
	// Auth tells the page that the server wants credentials, so it asks
	// for a user and password before it connects.
	Auth bool
}

// pageConfig is /config.json.
type pageConfig struct {
	NATS []string `json:"nats"`
	Auth bool     `json:"auth"`
}

// Handler serves the page, its assets and /config.json.
func Handler(c Config) (http.Handler, error) {
	if len(c.NATS) == 0 {
		return nil, fmt.Errorf("%w: no NATS WebSocket URL", ErrConfigValidation)
	}
	for _, s := range c.NATS {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Port() == "" {
			return nil, fmt.Errorf("%w: NATS URL %q: the page needs a WebSocket URL like ws://host:port or wss://host:port", ErrConfigValidation, s)
		}
	}
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	files := http.FileServer(http.FS(sub))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		pc := pageConfig{Auth: c.Auth}
		for _, s := range c.NATS {
			pc.NATS = append(pc.NATS, forRequest(s, r))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(pc)
	})
	mux.Handle("GET /", files)
	return securityHeaders(mux), nil
}

// forRequest puts the host the page was loaded from into a URL that
// listens on every interface.
func forRequest(s string, r *http.Request) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	switch u.Hostname() {
	case "", "0.0.0.0", "::":
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		u.Host = net.JoinHostPort(strings.Trim(host, "[]"), u.Port())
	}
	return u.String()
}

// securityHeaders keeps the page from loading anything but its own assets
// and its NATS connection.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// Server is the page served on a listener.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Serve serves the page on ln until Close.
func Serve(ln net.Listener, c Config) (*Server, error) {
	h, err := Handler(c)
	if err != nil {
		return nil, err
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the page's address; a listener on every interface is shown with
// the machine's host name.
func (s *Server) URL() string {
	return PageURL(s.ln.Addr().String())
}

// PageURL is the page's address for a listener's address.
func PageURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// Close stops serving and closes open connections.
func (s *Server) Close() error {
	return s.srv.Close()
}
