package dashboard

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesThePageAndItsConfig(t *testing.T) {
	h, err := Handler(Config{NATS: []string{"ws://0.0.0.0:8080", "wss://nats.example:443"}, Auth: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	for path, want := range map[string]string{"/": "<title>rpbus dashboard</title>", "/app.js": "wsconnect", "/app.css": "--ch1"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, %d bytes, want %q in it", path, res.StatusCode, len(body), want)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}

	// A listener on every interface is given with the host the page came from.
	req, _ := http.NewRequest("GET", srv.URL+"/config.json", nil)
	req.Host = "lab-pc.local:4280"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var pc pageConfig
	if err := json.NewDecoder(res.Body).Decode(&pc); err != nil {
		t.Fatal(err)
	}
	want := []string{"ws://lab-pc.local:8080", "wss://nats.example:443"}
	if strings.Join(pc.NATS, ",") != strings.Join(want, ",") || !pc.Auth {
		t.Errorf("config %+v, want nats %v and auth", pc, want)
	}
}

func TestHandlerNeedsWebSocketURLs(t *testing.T) {
	for _, urls := range [][]string{nil, {"nats://127.0.0.1:4222"}, {"ws://127.0.0.1"}, {"::"}} {
		if _, err := Handler(Config{NATS: urls}); !errors.Is(err, ErrConfigValidation) {
			t.Errorf("NATS %q: err %v, want ErrConfigValidation", urls, err)
		}
	}
}

func TestServeAndPageURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Serve(ln, Config{NATS: []string{"ws://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("GET %s: %d", s.URL(), res.StatusCode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if u := PageURL("0.0.0.0:4280"); !strings.HasSuffix(u, ":4280/") || strings.Contains(u, "0.0.0.0") {
		t.Errorf("PageURL(0.0.0.0:4280) = %q, want the host's name", u)
	}
}
