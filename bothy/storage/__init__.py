"""SQLite storage: one connection, short write transactions, numbered migrations, small repositories."""
