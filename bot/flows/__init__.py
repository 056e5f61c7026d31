"""Guided conversations (flows) as data, run by one engine that saves a draft after every page."""
