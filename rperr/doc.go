// Package rperr is the one error type of rpbus, whose codes travel over the
// wire: services reply with an *Error, clients get it back with the same
// code and message. One table maps the codes (invalid, not_found, timeout,
// busy, cancelled, unavailable, internal) to the numbers of micro's
// Nats-Service-Error-Code header (400, 404, 408, 409, 499, 503, 500).
package rperr
