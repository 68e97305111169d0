-- The token check on its own (run with a "token" guard and no keys of its own): for requests whose
-- work is not one script of the single Redis (a Redis Cluster, where the token's keys and the work's
-- live in different slots; every route that does not carry the guard into its script).
return 1
