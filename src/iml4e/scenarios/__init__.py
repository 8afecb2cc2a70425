"""Runnable training cases built on every room of the platform."""
