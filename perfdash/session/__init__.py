"""What `perfdash run` and `perfdash watch` share around the load: one collector lifecycle
(collectors.py) and the database statistics taken before and after it (database.py)."""
