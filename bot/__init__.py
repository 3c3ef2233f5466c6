"""Candor's Rasa graph components: frustration scoring on sentence-transformers embeddings."""
