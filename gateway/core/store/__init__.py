"""The storage every part shares: the database (engine, the shared tables, group commit),
the state store (Redis or in-process), migrations and idempotency keys."""
