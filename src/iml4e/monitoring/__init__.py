"""The monitoring room: reference profiles, drift, live quality and performance, alerts."""
