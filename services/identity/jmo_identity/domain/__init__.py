"""Identity's domain rules: pure Python, no framework, database or bus."""
