"""`fluxus dev`: every Fluxus process on one machine with embedded defaults."""
