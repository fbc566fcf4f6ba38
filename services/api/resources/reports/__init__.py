"""Reports for staff and accountants (MRR movements)."""
