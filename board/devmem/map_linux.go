package devmem

import (
	"errors"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rpbus/rpbus/rperr"
)

// Open maps the register space from the physical memory device path
// (DevMem on the board), at physical address Base. It needs root (or
// CAP_SYS_RAWIO) and a kernel that lets /dev/mem reach the PL's
// addresses, as Red Pitaya's kernels do.
func Open(path string) (*Mem, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, openError(err)
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		return nil, rperr.Errorf(rperr.EUnavailable, "devmem: %s is not a character device (a plain file is mapped with --mem-file)", path)
	}
	// O_SYNC: the kernel maps the range uncached, as device registers need.
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_SYNC, 0)
	if err != nil {
		return nil, openError(err)
	}
	defer f.Close()
	return mapFile(f, int64(Base))
}

// OpenFile maps the plain file path as the register space: byte 4k is the
// register at Base + 4k. A missing file is created; a shorter one grows
// to Size with zeros.
func OpenFile(path string) (*Mem, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, openError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, openError(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, rperr.Errorf(rperr.EUnavailable, "devmem: --mem-file %s is not a regular file (the board's device is mapped with --backend devmem alone)", path)
	}
	if fi.Size() < int64(Size) {
		if err := f.Truncate(int64(Size)); err != nil {
			return nil, openError(err)
		}
	}
	return mapFile(f, 0)
}

func mapFile(f *os.File, offset int64) (*Mem, error) {
	b, err := unix.Mmap(int(f.Fd()), offset, Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		why := ""
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			why = " (the kernel refused the range: the bridge must run as root, on a Red Pitaya, whose kernel lets /dev/mem reach the PL)"
		}
		return nil, rperr.Errorf(rperr.EUnavailable, "devmem: mapping %d bytes of %s at %#x: %v%s", Size, f.Name(), offset, err, why)
	}
	return &Mem{
		path:  f.Name(),
		words: unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4),
		unmap: func() error { return unix.Munmap(b) },
	}, nil
}

func openError(err error) error {
	return rperr.Errorf(rperr.EUnavailable, "devmem: %v%s", err, hint(err))
}

// hint says what to do about the usual failures.
func hint(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return " (no such device: the devmem backend runs on the Red Pitaya; elsewhere use --mem-file for a dry run)"
	case errors.Is(err, os.ErrPermission), errors.Is(err, unix.EPERM):
		return " (the bridge must run as root on the board to map /dev/mem)"
	}
	return ""
}

// preciseSleep sleeps for d with nanosleep at a 1 us timer slack, set on
// the thread that sleeps (see the package doc for why not time.Sleep).
func preciseSleep(d time.Duration) {
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(time.Microsecond), 0, 0, 0)
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
