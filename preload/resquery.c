/* resquery.c: placeholder, filled in by the change that adds it. */
