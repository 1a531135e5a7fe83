"""Tools for testing code built on sessionkit. ``sessionkit.testing.conformance`` holds the store
conformance suite (it needs pytest)."""
