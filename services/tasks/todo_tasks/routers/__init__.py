"""HTTP routes of the tasks service."""
