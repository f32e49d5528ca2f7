"""notify's MongoDB stores and its channels (SMTP e-mail, recorded SMS and push)."""
