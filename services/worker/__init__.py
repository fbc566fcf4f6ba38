"""RQ workers: thin job shells over the use cases, queues, and the periodic schedule."""
