"""Proactive discovery (未诉先办), as a library without Flask: where problems are expected next (`forecast`), on
H3 cells (`cells`), from a district's history — real, or generated with known answers (`history`)."""
