package deploy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ca is a certificate authority made by the test.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err, "key")
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err, "CA certificate")
	cert, err := x509.ParseCertificate(der)
	must(t, err, "parse")
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a certificate and key for the names, good for a server and
// for a client (a route dials as one).
func (c *ca) issue(t *testing.T, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err, "key")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	must(t, err, "certificate")
	kb, err := x509.MarshalECPrivateKey(key)
	must(t, err, "key")
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// tlsClusterDir lays out the TLS cluster as its containers see it: the
// node files including tls/cluster-tls.conf instead of
// cluster-common.conf (the procedure tls/cluster-tls.conf describes), and
// the certificates of auth under /etc/nats/tls/.
func tlsClusterDir(t *testing.T, auth *ca) string {
	t.Helper()
	dir := clusterDir(t)
	conf, err := os.ReadFile(filepath.Join("tls", "cluster-tls.conf"))
	must(t, err, "cluster-tls.conf")
	tlsDir := filepath.Join(dir, "tls")
	// The container mounts the certificates at /etc/nats/tls/.
	writeFile(t, filepath.Join(dir, "cluster-tls.conf"), strings.ReplaceAll(string(conf), "/etc/nats/tls/", tlsDir+"/"))
	for _, n := range []string{"n1.conf", "n2.conf", "n3.conf"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		must(t, err, "%s", n)
		if !strings.Contains(string(b), "include cluster-common.conf") {
			t.Fatalf("%s does not include cluster-common.conf", n)
		}
		writeFile(t, filepath.Join(dir, n), strings.Replace(string(b), "include cluster-common.conf", "include cluster-tls.conf", 1))
	}
	cert, key := auth.issue(t, "n1", "n2", "n3", "localhost", "127.0.0.1")
	writeFile(t, filepath.Join(tlsDir, "ca.pem"), string(auth.pem))
	writeFile(t, filepath.Join(tlsDir, "server-cert.pem"), string(cert))
	writeFile(t, filepath.Join(tlsDir, "server-key.pem"), string(key))
	return dir
}

// TestTLS runs the TLS example (deploy/tls/) with a CA the test makes: the
// nodes route to each other over TLS, a client that trusts the CA logs in
// and its messages cross the routes, a client without the CA or with
// another is refused, and a node whose certificate another CA signed
// does not join, even with the route password.
func TestTLS(t *testing.T) {
	t.Parallel()
	auth := newCA(t, "rpbus test CA")
	dir := tlsClusterDir(t, auth)
	nodes := startNodes(t, dir, "n1.conf", "n2.conf", "n3.conf")
	caFile := filepath.Join(dir, "tls", "ca.pem")

	pub := connectAs(t, nodes[0].url, "instruments", nats.RootCAs(caFile))
	sub := connectAs(t, nodes[2].url, "observer", nats.RootCAs(caFile))
	if !pub.TLSRequired() {
		t.Error("the client port does not require TLS")
	}
	events, err := sub.SubscribeSync("rp.sim.scope.done")
	must(t, err, "subscribe")
	must(t, sub.Flush(), "flush")
	waitFor(t, 20*time.Second, "an event across two TLS routes", func() bool {
		must(t, pub.Publish("rp.sim.scope.done", []byte("{}")), "publish")
		_, err := events.NextMsg(100 * time.Millisecond)
		return err == nil
	})

	for name, opts := range map[string][]nats.Option{
		"no CA":      nil,
		"another CA": {nats.RootCAs(writeTemp(t, string(newCA(t, "other CA").pem)))},
	} {
		_, err := nats.Connect(nodes[0].url, append(opts, nats.UserInfo("operator", secrets(t).passwords["operator"]), nats.NoReconnect())...)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: %v, want refused for the certificate", name, err)
		}
	}

	// A fourth node with the route password and a certificate of another
	// CA: the others refuse its routes.
	evil := tlsClusterDir(t, newCA(t, "evil CA"))
	rogue := startNode(t, filepath.Join(evil, "n1.conf"), "--cluster-listen", "127.0.0.1:0",
		"--routes", strings.Replace(routeURL(t, filepath.Join(evil, "n1.conf")), "n1:6222", clusterAddr(t, nodes[0]), 1))
	time.Sleep(2 * time.Second) // a route is tried at once and every second after
	var rz struct {
		NumRoutes int `json:"num_routes"`
	}
	must(t, json.Unmarshal([]byte(rogue.get(t, "/routez")), &rz), "routez")
	if rz.NumRoutes != 0 {
		t.Errorf("a node with another CA's certificate has %d routes, want none", rz.NumRoutes)
	}
}

// routeURL is the first route a node file configures, credentials and all.
func routeURL(t *testing.T, conf string) string {
	t.Helper()
	o, err := server.ProcessConfigFile(conf)
	must(t, err, "%s", conf)
	return o.Routes[0].String()
}

// clusterAddr is where n listens for routes.
func clusterAddr(t *testing.T, n *node) string {
	t.Helper()
	if n.cluster == "" {
		t.Fatal("the node has no route listener")
	}
	return n.cluster
}

func writeTemp(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.pem")
	writeFile(t, p, data)
	return p
}
