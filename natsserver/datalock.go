package natsserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockFile is the file in a data directory that marks it as in use by a
// running server.
const LockFile = "rpbus.lock"

// ErrDataDirInUse is wrapped by Start's error when another process holds
// the data directory.
var ErrDataDirInUse = errors.New("natsserver: data directory in use")

// lockDataDir takes the data directory for this process, so that a
// second server never opens the same JetStream store (two stores on one
// directory overwrite each other's files). The lock ends with the
// process, a kill -9 included, or when release is called.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("natsserver: data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	// A server shut down a moment ago in this process releases its lock
	// from a goroutine: give it that moment.
	for deadline := time.Now().Add(lockWait); ; time.Sleep(20 * time.Millisecond) {
		if release, err = lockFile(path); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil && len(b) > 0 {
			holder = " (" + strings.TrimSpace(string(b)) + ")"
		}
		return nil, fmt.Errorf("%w: %s is used by another rpbus up or server%s: stop it, or give this one a directory of its own (--data DIR): %v", ErrDataDirInUse, dir, holder, err)
	}
	return release, nil
}

// lockWait is how long Start waits for a data directory's lock.
const lockWait = time.Second

// holderNote is what the lock file says about its holder.
func holderNote() string { return "pid " + strconv.Itoa(os.Getpid()) + "\n" }
