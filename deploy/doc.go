// Package deploy holds rpbus's deployment files and the tests that keep
// them honest without a Docker engine: docker-compose.yml and the
// Dockerfile (at the repository root) are parsed and checked against what
// `rpbus` accepts, and the NATS configurations here (nats/, cluster/,
// leaf/, tls/) are run by real nats-servers (`rpbus server`, a process of
// its own) to show their permissions, failover, leaf-node and TLS set-ups
// work. Its only code embeds the example credential files, which
// `rpbus secrets` rewrites with new passwords; see README.md.
package deploy
