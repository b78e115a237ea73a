"""The exchange log: every crossing recorded, encrypted, hash-chained and signed, and its audit
(verification, export)."""
