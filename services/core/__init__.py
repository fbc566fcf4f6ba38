"""Code shared by every Fluxus process; imports no Flask, RQ, Kopf or Panel."""
