"""Use cases (verbs) over the store and the domain; each writes its audit event in its own transaction."""
