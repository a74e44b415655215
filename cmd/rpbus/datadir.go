package main

import (
	"os"
	"path/filepath"
)

// defaultDataDir is where `rpbus up` keeps its JetStream store (and so
// the curves) unless --data says otherwise: the XDG data directory,
// $XDG_DATA_HOME/rpbus or ~/.local/share/rpbus, which survives reboots
// and belongs to the user. Without a home it is a folder in the temporary
// directory.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "rpbus")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "share", "rpbus")
	}
	return filepath.Join(os.TempDir(), "rpbus-data")
}
