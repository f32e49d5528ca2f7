"""Bundled content: demo places (CSV) and program information (JSON)."""
