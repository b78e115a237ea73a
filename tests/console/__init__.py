"""The ops console (issue 20): its pages through the API, and in a real browser."""
