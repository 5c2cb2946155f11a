"""The lab API: a FastAPI + asyncpg service whose performance problems are planted and switchable."""
