"""RQ job functions: thin shells that parse ids, call one use case and let errors propagate."""
