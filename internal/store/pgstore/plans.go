package pgstore

import "github.com/jackc/pgx/v5"

// The bulk statements (sqlInsertEventsBulk, sqlRecordAttemptsBulk) run
// between sqlIndexedPlans and sqlDefaultPlans.
//
// Why: pgx prepares each statement once per connection, and after five
// runs PostgreSQL may keep a generic plan for it, planned for the tables
// as they were then. On a new database those tables hold a few pages, a
// sequential scan of deliveries is the cheapest way to find a batch's
// rows, and that plan stays while the table grows, until autovacuum next
// analyzes it: measured on a fresh schema, every attempt batch read the
// whole deliveries table twice (12 ms a batch at 19,000 rows) and
// PostgreSQL used about 35% more CPU per delivery. The bulk statements
// only ever reach deliveries, events, apps and endpoints by their keys,
// so scans are refused while they are planned; the foreign-key checks
// they fire are planned then too.
const (
	sqlIndexedPlans = `SET LOCAL enable_seqscan = off`
	sqlDefaultPlans = `SET LOCAL enable_seqscan TO DEFAULT`
)

// queuePlanned queues sqlIndexedPlans, what queue queues, and
// sqlDefaultPlans; readPlanned reads their results around read's.
func queuePlanned(b *pgx.Batch, queue func(*pgx.Batch)) {
	b.Queue(sqlIndexedPlans)
	queue(b)
	b.Queue(sqlDefaultPlans)
}

// readPlanned reads the results of what queuePlanned queued, read reading
// those of queue.
func readPlanned(br pgx.BatchResults, read func(pgx.BatchResults) error) error {
	if _, err := br.Exec(); err != nil {
		return err
	}
	if err := read(br); err != nil {
		return err
	}
	_, err := br.Exec()
	return err
}
