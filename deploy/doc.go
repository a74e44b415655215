// Package deploy holds rpbus's deployment files and the tests that keep
// them honest without a Docker engine: docker-compose.yml and the
// Dockerfile (at the repository root) are parsed and checked against what
// `rpbus` accepts, and the NATS configurations here (nats/, cluster/,
// leaf/) are loaded into real embedded nats-servers to show their
// permissions, failover and leaf-node set-up work. The package has no
// code; see README.md.
package deploy
