"""Long work in child processes: job records, start-up with a concurrency limit, progress, cancel, crash recovery."""
