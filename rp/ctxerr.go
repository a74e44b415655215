package rp

import "context"

// The context package's sentinels, named here so ErrorCode reads clearly.
var (
	errDeadline = context.DeadlineExceeded
	errCanceled = context.Canceled
)
