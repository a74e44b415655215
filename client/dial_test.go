package client_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/rperr"
)

// freePort is a loopback address nothing listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// operator returns a server configuration in operator (JWT) mode with one
// account, and a credentials file of a user of that account.
func operator(t *testing.T) (conf, credsFile string) {
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	ojwt, err := jwt.NewOperatorClaims(opub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatal(err)
	}
	credsFile = filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("operator: %s\nresolver: MEMORY\nresolver_preload: { %s: %s }\n", ojwt, apub, ajwt), credsFile
}

// nkeyUser returns a configuration with one nkey user and its seed file.
func nkeyUser(t *testing.T) (conf, seedFile string) {
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	seed, _ := ukp.Seed()
	seedFile = filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("authorization { users: [ { nkey: %s } ] }\n", upub), seedFile
}

// TestDialSaysWhatFailed: every kind of failure is told within
// DialTimeout (and two seconds of slack), naming the URL, whom the
// connection logged in as and why it failed; each kind of credentials
// logs in to a server that asks for it. The servers are real, on
// 127.0.0.1.
func TestDialSaysWhatFailed(t *testing.T) {
	users := natstest.ServerConfig(t, "authorization { users: [ { user: alice, password: secret } ] }\n")
	token := natstest.ServerConfig(t, "authorization { token: s3cr3t }\n")
	opConf, credsFile := operator(t)
	jwtServer := natstest.ServerConfig(t, opConf)
	nkConf, seedFile := nkeyUser(t)
	nkServer := natstest.ServerConfig(t, nkConf)
	cert, key := natstest.TLSFiles()
	tlsServer := natstest.ServerConfig(t, fmt.Sprintf("tls { cert_file: %q, key_file: %q }\n", cert, key))
	plain := natstest.Server(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never speaks
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	refused := "nats://" + freePort(t)

	for _, tc := range []struct {
		name  string
		url   string
		creds client.Credentials
		opts  []nats.Option
		want  []string // "" : the connection works
	}{
		{"refused", refused, client.Credentials{}, nil, []string{refused, "without credentials", "connection refused"}},
		{"no answer", "nats://" + silent.Addr().String(), client.Credentials{}, nil, []string{"no answer within 2s"}},
		{"no credentials", users.ClientURL(), client.Credentials{}, nil, []string{"authorization required", "--user"}},
		{"wrong password", users.ClientURL(), client.Credentials{User: "alice", Password: "b4d-pw"}, nil, []string{`as user "alice"`, "authorization failed", "Authorization Violation"}},
		{"user and password", users.ClientURL(), client.Credentials{User: "alice", Password: "secret"}, nil, nil},
		{"password in the URL", strings.Replace(users.ClientURL(), "nats://", "nats://alice:b4d-pw@", 1), client.Credentials{}, nil, []string{"alice:xxxxx@", "authorization"}},
		{"wrong token", token.ClientURL(), client.Credentials{Token: "nope"}, nil, []string{"with a token", "authorization failed"}},
		{"token", token.ClientURL(), client.Credentials{Token: "s3cr3t"}, nil, nil},
		{"creds file", jwtServer.ClientURL(), client.Credentials{CredsFile: credsFile}, nil, nil},
		{"creds needed", jwtServer.ClientURL(), client.Credentials{}, nil, []string{"authorization required"}},
		{"nkey", nkServer.ClientURL(), client.Credentials{NkeyFile: seedFile}, nil, nil},
		{"TLS untrusted", tlsServer.ClientURL(), client.Credentials{}, nil, []string{"TLS failed", "certificate"}},
		{"TLS trusted", tlsServer.ClientURL(), client.Credentials{}, []nats.Option{nats.RootCAs(cert)}, nil},
		{"TLS wanted", strings.Replace(plain.ClientURL(), "nats://", "tls://", 1), client.Credentials{}, nil, []string{"TLS unavailable"}},
		{"two kinds", plain.ClientURL(), client.Credentials{User: "a", Token: "b"}, nil, []string{"give one of"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			nc, err := client.Dial(tc.url, tc.creds, tc.opts...)
			took := time.Since(t0)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				c, _ := client.New(nc)
				// A request reaches the server (no one answers it).
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := c.Request(ctx, "rp.nosuch.hw.info", nil, nil); rperr.ErrorCode(err) != rperr.ENotFound {
					t.Fatalf("request over the new connection: %v", err)
				}
				return
			}
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\ndoes not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "b4d-pw") {
				t.Errorf("%v shows a secret", err)
			}
			if took > client.DialTimeout+2*time.Second {
				t.Errorf("told after %v, want within %v", took, client.DialTimeout)
			}
			if tc.name != "two kinds" && rperr.ErrorCode(err) != rperr.EUnavailable {
				t.Errorf("code %s, want unavailable", rperr.ErrorCode(err))
			}
		})
	}
}

// TestTransient: only failures that may pass by themselves are retried by
// services.
func TestTransient(t *testing.T) {
	_, err := client.Dial("nats://"+freePort(t), client.Credentials{})
	if !client.Transient(err) {
		t.Errorf("refused is not transient: %v", err)
	}
	users := natstest.ServerConfig(t, "authorization { users: [ { user: alice, password: secret } ] }\n")
	_, err = client.Dial(users.ClientURL(), client.Credentials{User: "alice", Password: "x"})
	if err == nil || client.Transient(err) {
		t.Errorf("a rejected password is transient: %v", err)
	}
}
