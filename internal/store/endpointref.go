package store

import "strings"

// EndpointIDPrefix starts every endpoint id (hook.NewID("ep")).
const EndpointIDPrefix = "ep_"

// EndpointRefColumn is the column of the endpoints table a reference to an
// endpoint names: "id" for a reference starting with EndpointIDPrefix,
// "uid" otherwise. As for apps, a uid may not start with the prefix (see
// hook.ValidateEndpointUID), so a reference is never ambiguous.
func EndpointRefColumn(ref string) string {
	if strings.HasPrefix(ref, EndpointIDPrefix) {
		return "id"
	}
	return "uid"
}
