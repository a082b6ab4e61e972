// Package cuid generates collision-resistant ids in Prisma's cuid format.
package cuid

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Length is the length of every id New returns.
const Length = 25

const base = 36

var (
	counter     atomic.Uint32
	fingerprint = makeFingerprint()
)

// New returns a new cuid: "c", 8 chars of millisecond time, 4 of a process
// counter, 4 of host fingerprint and 8 of crypto randomness, all base 36.
// Unlike Prisma's Math.random, the random block comes from crypto/rand, so ids
// cannot be predicted from earlier ones.
func New() string {
	var b [Length]byte
	b[0] = 'c'
	digits(b[1:9], uint64(time.Now().UnixMilli()))
	digits(b[9:13], uint64(counter.Add(1)))
	copy(b[13:17], fingerprint)
	digits(b[17:25], randomUint64())
	return string(b[:]) // the one allocation
}

// digits writes the last len(dst) base-36 digits of v into dst, zero-padded.
func digits(dst []byte, v uint64) {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = alphabet[v%base]
		v /= base
	}
}

// Valid reports whether s has the shape of a cuid.
func Valid(s string) bool {
	if len(s) != Length || s[0] != 'c' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

func makeFingerprint() string {
	host, _ := os.Hostname()
	sum := os.Getpid() + len(host) + base
	for _, c := range host {
		sum += int(c)
	}
	pid := pad(strconv.FormatInt(int64(os.Getpid()), base), 2)
	h := pad(strconv.FormatInt(int64(sum), base), 2)
	return pid[len(pid)-2:] + h[len(h)-2:]
}

func randomUint64() uint64 {
	var buf [8]byte
	if _, err := rand.Read(buf[:]); err != nil {
		// crypto/rand never fails on supported platforms; an id without
		// entropy would be worse than a crash.
		panic("cuid: crypto/rand: " + err.Error())
	}
	return binary.BigEndian.Uint64(buf[:])
}

// pad left-pads s with zeros to n chars, keeping the last n when longer.
func pad(s string, n int) string {
	if len(s) >= n {
		return s[len(s)-n:]
	}
	return strings.Repeat("0", n-len(s)) + s
}
