"""Method table of the budget_pacing problem (being written)."""
