"""Tests of the ``lgsp`` command line."""
