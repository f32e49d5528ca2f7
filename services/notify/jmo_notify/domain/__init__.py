"""Pure rules of notify: kinds, templates, formats, preferences, contacts, delivery plans and retries."""
