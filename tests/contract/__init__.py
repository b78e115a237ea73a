"""The API contract as the case systems' developers use it: generated clients (issue 21)."""
