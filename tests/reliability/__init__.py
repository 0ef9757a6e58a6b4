"""Reliability campaigns (ISSUE 7): kills, concurrency, hostile input, full disks."""
