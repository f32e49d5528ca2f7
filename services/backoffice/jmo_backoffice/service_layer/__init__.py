"""The back office's use cases: signing in and out, and what each page reads or does."""
