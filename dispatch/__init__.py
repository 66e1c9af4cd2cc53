"""Closed-loop case handling as a library: lifecycle rules, working-time deadlines, routing.

Nothing in this package does I/O or imports Flask; the web app and the jobs call it with plain values.
"""
