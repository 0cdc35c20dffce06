//go:build linux || openbsd || darwin || freebsd || netbsd

package corpus

import (
	"io/fs"
	"syscall"
	"time"
)

// changeID returns the file's inode and status change time (ctime), or
// zeros when info does not carry them.
func changeID(info fs.FileInfo) (uint64, time.Time) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, time.Time{}
	}
	sec, nsec := ctime(st)
	return uint64(st.Ino), time.Unix(sec, nsec)
}
