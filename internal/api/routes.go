package api

import "net/http"

// routeMux is the API's ServeMux, noting the pattern of every route
// registered on it (by huma or directly), so that the routes can be checked
// against the OpenAPI document: see Routes.
type routeMux struct {
	http.ServeMux
	patterns []string
}

// Handle registers h for pattern, noting the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers h for pattern, noting the pattern.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Routes returns the ServeMux patterns ("GET /v1/apps/{app}", "/") of the
// routes of a handler that New returned, in the order they were
// registered; nil for any other handler.
func Routes(h http.Handler) []string {
	m, ok := h.(*routeMux)
	if !ok {
		return nil
	}
	return append([]string(nil), m.patterns...)
}
