package api

import (
	"encoding/binary"
	"unsafe"
)

// littleEndianHost: a part's words are in the host's order, so their
// bytes go and come as they are (amd64 and the board's ARM both are).
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// PartBody is words as a part message of a streamed read carries them
// (little-endian): on a little-endian host their own memory, else
// converted into buf (its memory reused when large enough).
func PartBody[W uint16 | uint32](words []W, buf []byte) []byte {
	size := int(unsafe.Sizeof(W(0)))
	if littleEndianHost {
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*size)
	}
	buf = buf[:0]
	for _, w := range words {
		if size == 2 {
			buf = binary.LittleEndian.AppendUint16(buf, uint16(w))
		} else {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(w))
		}
	}
	return buf
}

// PartWords puts the words of a part's body into dst and returns how
// many: as many as both hold.
func PartWords[W uint16 | uint32](dst []W, body []byte) int {
	size := int(unsafe.Sizeof(W(0)))
	n := min(len(dst), len(body)/size)
	if littleEndianHost {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), n*size), body)
		return n
	}
	for i := range n {
		if size == 2 {
			dst[i] = W(binary.LittleEndian.Uint16(body[2*i:]))
		} else {
			dst[i] = W(binary.LittleEndian.Uint32(body[4*i:]))
		}
	}
	return n
}
