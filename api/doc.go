// Package api holds the request and reply types of every rpbus subject:
// the Go form of docs/protocol.md, shared by the services and the clients.
// JSON and msgpack use the same field names (the json tags); numeric arrays
// are wire.F32, wire.F64 and wire.U32.
package api

// Subject returns rp.<board>.<module>.<verb>.
func Subject(board, module, verb string) string {
	return "rp." + board + "." + module + "." + verb
}
