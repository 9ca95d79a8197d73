"""Evaluation on top of trained models: conditional tables, generative scores, inference helpers."""
