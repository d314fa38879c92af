package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookd/hookd/internal/hook"
)

// operatorAppWarning is what /readyz says of the operator's app: "" when
// none is configured or the configured one exists, else why hookd's
// operational events are being dropped. A failed read says nothing here
// (the readiness check itself reports the database).
func (s *server) operatorAppWarning(ctx context.Context) string {
	if s.operatorApp == "" {
		return ""
	}
	_, err := s.store.GetApp(ctx, s.operatorApp)
	if hook.ErrorCode(err) != hook.ENotFound {
		return ""
	}
	return OperatorAppMissing(s.operatorApp)
}

// OperatorAppMissing says that HOOKD_OPERATOR_APP names no app, and what
// that means: the words of the start-up warning and of /readyz.
func OperatorAppMissing(ref string) string {
	fix := "until an admin key creates it (POST /v1/apps with this uid)"
	if strings.HasPrefix(ref, "app_") {
		fix = "until HOOKD_OPERATOR_APP names an existing app"
	}
	return fmt.Sprintf("HOOKD_OPERATOR_APP is %q, and no app has this id or uid: hookd's operational events "+
		"(delivery.failing, endpoint.disabled, ...) are dropped %s", ref, fix)
}
