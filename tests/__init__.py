"""The mreg test suite."""
