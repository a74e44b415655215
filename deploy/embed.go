package deploy

import _ "embed"

// The example credential files, which `rpbus secrets` rewrites with new
// passwords: the users and their permissions stay as reviewed here.
var (
	//go:embed nats/accounts.example.conf
	AccountsExample string
	//go:embed cluster/cluster-secrets.example.conf
	ClusterSecretsExample string
	//go:embed leaf/leaf-secrets.example.conf
	LeafSecretsExample string
)

// The single server's and the cluster's configuration, which
// `rpbus chaos` runs as they are.
var (
	//go:embed nats/nats.conf
	NATSConf string
	//go:embed cluster/cluster-common.conf
	ClusterCommon string
)
