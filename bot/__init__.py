"""Lotsen: a multilingual chat guide to Stockholm's labour-market services."""
