package sqlitestore

// Integer keys (issue 18, migration 00020). The indexes that list an app's
// events and deliveries, or an endpoint's deliveries, are keyed on the
// app's or endpoint's seq (events.app_seq, deliveries.app_seq,
// deliveries.endpoint_seq), not on their 30-byte text ids: smaller index
// entries, so rarer leaf splits, so fewer pages written per commit. Every
// insert into events and deliveries sets them (sqlInsertEvent,
// sqlInsertDelivery, CreateDeliveries), and every list reads them through
// the subqueries below: SQLite evaluates a constant scalar subquery once
// and seeks the index with its value. An unknown id gives NULL, which
// matches no row, as the text id matched none. intkeys_test.go checks
// that each plan is the text-keyed one's, on the new indexes.

// appSeqOf is the seq of the app whose id is the next ? argument.
const appSeqOf = `(SELECT seq FROM apps WHERE id = ?)`

// endpointSeqOf is the seq of the endpoint whose id is the next ?
// argument.
const endpointSeqOf = `(SELECT seq FROM endpoints WHERE id = ?)`

// seqOfApp is appSeqOf for a numbered parameter (such as "?1").
func seqOfApp(param string) string { return `(SELECT seq FROM apps WHERE id = ` + param + `)` }

// sqlDistinctTypes is store.DistinctTypesSQL on events_app_type_seq (?1 the
// app's id, ?2 the limit): the distinct types of an app's events in name
// order, one index seek each.
const sqlDistinctTypes = `WITH RECURSIVE t(type) AS (
		SELECT min(type) FROM events WHERE app_seq = (SELECT seq FROM apps WHERE id = ?1)
		UNION ALL
		SELECT (SELECT min(e.type) FROM events e WHERE e.app_seq = (SELECT seq FROM apps WHERE id = ?1) AND e.type > t.type)
		FROM t WHERE t.type IS NOT NULL
	)
	SELECT type FROM t WHERE type IS NOT NULL LIMIT ?2`
