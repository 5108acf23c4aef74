"""Schedules and sensors that run the sync by themselves."""
