"""The back office's own rules: sessions, PKCE, what the review queue shows and how charts scale."""
