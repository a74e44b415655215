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
