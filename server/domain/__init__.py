"""Pure business rules (no database, no web framework): the 30% rule, the attempt state machine,
grading, review decisions, footprint summaries and the xAPI statement shape."""
