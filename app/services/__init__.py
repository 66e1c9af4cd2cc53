"""Domain services: one function per verb. They validate, change rows, append audit events and never commit."""
