"""The bench's signing key: the server's, and the seeding's, so a session made while seeding is valid."""

BENCH_SECRET_KEY = "bench-api-not-a-secret-" + "x" * 50
