package svc

import "github.com/rpbus/rpbus/rperr"

// DecodeEmpty checks the body of a request that takes none (hw.info,
// stop): nothing, {} or null in either encoding; anything else is a 400,
// so a requester who thinks it sent settings learns that they were not
// read.
func (r *Request) DecodeEmpty() error {
	if err := r.Decode(&struct{}{}); err != nil {
		return rperr.Invalidf("%s takes no body (send nothing, {} or null): %s", r.Subject, rperr.ErrorMessage(err))
	}
	return nil
}
