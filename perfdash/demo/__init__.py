"""The bundled demo backend (HTTP + Socket.IO on PostgreSQL) and a throwaway PostgreSQL cluster."""
