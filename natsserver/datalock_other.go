//go:build !unix

package natsserver

import (
	"fmt"
	"os"
)

// lockFile creates path exclusively; release removes it. A process that
// died without releasing leaves the file behind, and the error says to
// delete it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%v (if no server runs there, delete %s)", err, path)
	}
	_, _ = f.WriteString(holderNote())
	f.Close()
	return func() { _ = os.Remove(path) }, nil
}
