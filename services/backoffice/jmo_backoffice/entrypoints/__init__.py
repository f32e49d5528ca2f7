"""The back office's HTTP side: the FastAPI app, its pages and the process entry point."""
