"""Feedback into fine-tuned algorithm versions. Arrives with the algorithms issue (#5)."""
