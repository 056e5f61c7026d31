"""Scale-out on PostgreSQL: several ``serve`` replicas on one database (issue 6)."""
