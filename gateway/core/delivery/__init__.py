"""Delivery: the outbox (durable, per-dossier FIFO, dead letters), the workers that lease and
deliver, the retry policy and circuit breaker, and accepting work into it."""
