"""Write requests through ``commands.dispatch`` against moto, split by topic (SPEC §3-§5)."""
