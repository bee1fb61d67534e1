"""The worker: the outbox sender and the scheduled jobs."""
