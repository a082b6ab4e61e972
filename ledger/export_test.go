package ledger

// RacedReads exposes how many postings took the raced-duplicate path.
func RacedReads() int64 { return racedReads.Load() }
